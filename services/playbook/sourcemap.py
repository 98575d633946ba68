"""Lines of a YAML document, found by walking the node tree `yaml.compose` builds.

PyYAML's plain objects forget where they came from; nodes keep `start_mark`. Given a path of keys
and list indices, `line_of` returns the 1-based line of the offending key (for a mapping or list
value) or of the value itself (for a scalar), falling back to the nearest ancestor that exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class DuplicateKey:
    path: Path
    first_line: int
    line: int


class SourceMap:
    def __init__(self, root: Node):
        self.root = root

    def line_of(self, path: Path) -> int | None:
        node: Node = self.root
        line: int | None = None  # the line of the key that led to `node`; None at the top level
        for element in path:
            found = _child(node, element)
            if found is None:
                return line  # missing key or unknown shape: point at the parent
            key, child = found
            node = child
            line = (key or child).start_mark.line + 1
        if isinstance(node, ScalarNode):
            return node.start_mark.line + 1
        return line

    def duplicate_keys(self) -> Iterator[DuplicateKey]:
        yield from _duplicates(self.root, ())


def _child(node: Node, element: str | int) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode):
        match = None
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == str(element):
                match = (key, value)  # the last wins, as in PyYAML's own construction
        return match
    if isinstance(node, SequenceNode) and isinstance(element, int) and 0 <= element < len(node.value):
        return None, node.value[element]
    return None


def _duplicates(node: Node, path: Path) -> Iterator[DuplicateKey]:
    if isinstance(node, MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in first:
                    yield DuplicateKey((*path, key.value), first[key.value], line)
                else:
                    first[key.value] = line
            yield from _duplicates(value, (*path, key.value if isinstance(key, ScalarNode) else "?"))
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, (*path, index))

"""Reading a playbook file: YAML → schema → cross-references, every problem reported at once.

`load_playbook(path)` returns a `LoadedPlaybook` or raises `PlaybookError` whose issues each say
file, line, path, found and expected. Cross-reference checks run only once the schema accepts the
document, because they need its values; fixing schema errors may therefore reveal more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import Node

from .crossref import check_references
from .issues import PlaybookError, PlaybookIssue
from .schema import Playbook
from .sourcemap import SourceMap
from .wording import describe_error, error_path

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedPlaybook:
    playbook: Playbook
    path: Path | None
    content_hash: str  # sha256 of the file's bytes, hex
    version: int

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


def load_playbook(path: str | Path) -> LoadedPlaybook:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PlaybookError(
            [PlaybookIssue(str(path), None, "", f"no readable file ({error.strerror or error})", "a playbook YAML file")]
        ) from error
    return _load(data, str(path), path)


def load_playbook_text(text: str, filename: str = "playbook.yaml") -> LoadedPlaybook:
    return _load(text.encode("utf-8"), filename, None)


def _load(data: bytes, filename: str, path: Path | None) -> LoadedPlaybook:
    def issue(line: int | None, where: str, found: str, expected: str) -> PlaybookIssue:
        return PlaybookIssue(filename, line, where, found, expected)

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PlaybookError([issue(None, "", f"bytes that are not UTF-8 (at byte {error.start})", "a UTF-8 text file")]) from error

    node, document = _parse_yaml(text, issue)
    if node is None:
        raise PlaybookError([issue(None, "", "an empty document", "a playbook: a mapping starting with version: 1")])
    source = SourceMap(node)
    issues = [
        issue(dup.line, _dotted(dup.path), f"the key '{dup.path[-1]}' again (first on line {dup.first_line})", "each key once (YAML would silently keep only the last)")
        for dup in source.duplicate_keys()
    ]
    try:
        playbook = Playbook.model_validate(document)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            where = error_path(document, detail["loc"])
            found, expected = describe_error(detail, document, where)
            issues.append(issue(source.line_of(where), _dotted(where), found, expected))
    else:
        for problem in check_references(playbook):
            issues.append(issue(source.line_of(problem.path), _dotted(problem.path), problem.found, problem.expected))
    if issues:
        issues.sort(key=lambda i: (i.line is None, i.line or 0))
        raise PlaybookError(issues)
    return LoadedPlaybook(playbook, path, hashlib.sha256(data).hexdigest(), playbook.version)


def _parse_yaml(text: str, issue: Callable[..., PlaybookIssue]) -> tuple[Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = "; ".join(part for part in (error.context, error.problem) if part)
        column = f" at column {mark.column + 1}" if mark else ""
        line = mark.line + 1 if mark else None
        raise PlaybookError([issue(line, "", f"invalid YAML{column}: {problem}", "valid YAML (check indentation, colons and quoting)")]) from error
    except yaml.YAMLError as error:
        raise PlaybookError([issue(None, "", f"invalid YAML: {error}", "valid YAML")]) from error
    finally:
        loader.dispose()


def _dotted(path: Loc) -> str:
    out = ""
    for element in path:
        out += f"[{element}]" if isinstance(element, int) else (f".{element}" if out else str(element))
    return out

"""Reading a playbook file: YAML → schema → cross-references, every problem reported at once.

`load_playbook(path)` returns a `LoadedPlaybook` or raises `PlaybookError` whose issues each say
file, line, path, found and expected. Cross-reference checks run only once the schema accepts the
document, because they need its values; fixing schema errors may therefore reveal more.
"""

from __future__ import annotations

import difflib
import hashlib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from yaml.nodes import Node

from .crossref import check_references
from .issues import ERROR_TYPE_PREFIX, PlaybookError, PlaybookIssue, describe_value
from .schema import UNION_TAGS, Playbook
from .sourcemap import SourceMap

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
            where = _yaml_path(document, detail["loc"])
            found, expected = _wording(detail)
            whole = _value_at(document, where)
            if isinstance(whole, str) and whole != detail.get("input") and detail["type"] != "missing":
                found = describe_value(whole)  # the error was about a part of this string; show all of it
            issues.append(issue(source.line_of(where), _dotted(where), found, expected))
    else:
        for problem in check_references(playbook):
            issues.append(issue(source.line_of(problem.path), _dotted(problem.path), problem.found, problem.expected))
    if issues:
        issues.sort(key=lambda i: (i.line is None, i.line or 0))
        raise PlaybookError(issues)
    return LoadedPlaybook(playbook, path, hashlib.sha256(data).hexdigest(), playbook.version)


def _parse_yaml(text: str, issue) -> tuple[Node | None, Any]:
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


def _yaml_path(document: Any, loc: Loc) -> Loc:
    """pydantic's error location, minus union tags and the `[key]` marker: a path in the YAML."""
    path: list[str | int] = []
    data = document
    for position, element in enumerate(loc):
        if element == "[key]":
            break
        if isinstance(data, dict) and element in data:
            data = data[element]
        elif isinstance(data, list) and isinstance(element, int) and element < len(data):
            data = data[element]
        elif element in UNION_TAGS and position < len(loc) - 1:
            continue
        elif isinstance(data, (dict, list)):
            path.append(element)  # a missing key: name it, nothing below it exists
            break
        else:
            break  # inside a scalar (e.g. the parts of "user:U123"): the scalar is the culprit
        path.append(element)
    return tuple(path)


def _value_at(document: Any, path: Loc) -> Any:
    for element in path:
        try:
            document = document[element]
        except (KeyError, IndexError, TypeError):
            return None
    return document


# --- wording -----------------------------------------------------------------------------------

_PLAIN = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "dict_type": "a mapping (key: value lines)",
    "list_type": "a list",
    "tuple_type": "a list",
    "date_type": "a date like 2024-01-01",
    "date_parsing": "a date like 2024-01-01",
    "date_from_datetime_parsing": "a date like 2024-01-01",
    "date_from_datetime_inexact": "a date like 2024-01-01 (without a time)",
    "datetime_type": "a date and time like 2026-03-30 09:00 (playbook time zone) or 2026-03-30T09:00+02:00",
    "datetime_parsing": "a date and time like 2026-03-30 09:00 (playbook time zone) or 2026-03-30T09:00+02:00",
    "datetime_from_date_parsing": "a date and time like 2026-03-30 09:00 (playbook time zone) or 2026-03-30T09:00+02:00",
}


def _wording(detail: dict[str, Any]) -> tuple[str, str]:
    kind, context, value = detail["type"], detail.get("ctx") or {}, detail.get("input")
    loc = detail["loc"]
    if kind.startswith(ERROR_TYPE_PREFIX):
        return context.get("found") or describe_value(value), context["expected"]
    if kind == "missing":
        field = _field(loc)
        what = f" ({field.description})" if field is not None and field.description else ""
        return "nothing", f"this required key{what}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        listing = f"one of {', '.join(allowed)}{hint}" if allowed else "no such key"
        return f"unknown key '{loc[-1]}'", listing
    if kind == "literal_error":
        return describe_value(value), f"one of {context.get('expected', '')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most", "less_than": "less than"}
        bound = next(v for k, v in context.items() if k in ("ge", "gt", "le", "lt"))
        return describe_value(value), f"{words[kind]} {bound}"
    if kind in ("model_type", "model_attributes_type"):
        allowed = _allowed_keys(loc)
        return describe_value(value), f"a mapping with keys among {', '.join(allowed)}" if allowed else "a mapping"
    if kind in _PLAIN:
        return describe_value(value), _PLAIN[kind]
    message = detail.get("msg", "")
    return describe_value(value), message[0].lower() + message[1:] if message else "something else"


# The schema is walked along an error's location to name the keys a mapping may hold and to read
# a missing field's description: pydantic's errors carry neither.


def _model_at(loc: Loc) -> type[BaseModel] | None:
    annotation: Any = Playbook
    for element in loc:
        annotation = _step(annotation, element)
        if annotation is None:
            return None
    model = _as_model(annotation, None)
    return model


def _field(loc: Loc) -> FieldInfo | None:
    model = _model_at(loc[:-1])
    return model.model_fields.get(str(loc[-1])) if model is not None else None


def _allowed_keys(loc: Loc) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _step(annotation: Any, element: str | int) -> Any:
    annotation = _unwrap(annotation)
    model = _as_model(annotation, element)
    if model is not None:
        if element in UNION_TAGS and _is_union(annotation):
            return model
        field = model.model_fields.get(str(element))
        return field.annotation if field is not None else None
    origin = get_origin(annotation)
    if origin is dict:
        return get_args(annotation)[1]
    if origin in (list, tuple):
        return get_args(annotation)[0]
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _as_model(annotation: Any, tag: str | int | None) -> type[BaseModel] | None:
    """The model an annotation stands for; for a union, the member `tag` names (or the only model)."""
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if not _is_union(annotation):
        return None
    models = []
    for member in get_args(annotation):
        tags = [m.tag for m in getattr(member, "__metadata__", ()) if hasattr(m, "tag")]
        candidate = _unwrap(member)
        if not (isinstance(candidate, type) and issubclass(candidate, BaseModel)):
            continue
        kind = candidate.model_fields.get("kind")
        literal = get_args(kind.annotation) if kind is not None and get_origin(kind.annotation) is Literal else ()
        if tag is not None and (tag in tags or tag in literal):
            return candidate
        models.append(candidate)
    return models[0] if len(models) == 1 else None

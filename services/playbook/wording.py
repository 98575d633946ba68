"""pydantic's validation errors, said in the playbook's terms.

pydantic locates an error by a `loc` that includes union tags and a `[key]` marker, and words it
in its own English ("Input should be …"). `error_path` turns the location into a path of the YAML
document; `describe_error` gives "found …" and "expected …". For unknown and missing keys the
schema is walked along the location to list the keys allowed there and to read the missing
field's description, which pydantic's errors do not carry.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .issues import ERROR_TYPE_PREFIX, describe_value
from .schema import UNION_TAGS, Playbook

Loc = tuple[str | int, ...]


def error_path(document: Any, loc: Loc) -> Loc:
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


def describe_error(detail: dict[str, Any], document: Any, path: Loc) -> tuple[str, str]:
    """(found, expected) for one of pydantic's error dicts; `path` is its `error_path`."""
    found, expected = _wording(detail)
    whole = _value_at(document, path)
    if isinstance(whole, str) and whole != detail.get("input") and detail["type"] != "missing":
        found = describe_value(whole)  # the error was about a part of this string; show all of it
    return found, expected


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


def _model_at(loc: Loc) -> type[BaseModel] | None:
    annotation: Any = Playbook
    for element in loc:
        annotation = _step(annotation, element)
        if annotation is None:
            return None
    return _as_model(annotation, None)


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

"""Reading what background jobs need out of Slack's answers, which may not be shaped as
documented (a key missing, a value of another type): such an answer is an UnexpectedAnswer,
which a job logs and survives, never a KeyError or TypeError that stops it."""

from __future__ import annotations

from typing import Any


class UnexpectedAnswer(Exception):
    """Slack said ok but did not answer with what the method documents."""


def field(answer: Any, method: str, *path: str, kind: type | tuple[type, ...] = str) -> Any:
    """answer[path[0]][path[1]]…, checked to be of `kind` (a non-empty one, for str)."""
    value = getattr(answer, "data", answer)  # a SlackResponse, or its data
    for depth, key in enumerate(path):
        if not isinstance(value, dict) or key not in value:
            raise UnexpectedAnswer(f"{method} answered without {'.'.join(path[:depth + 1])}")
        value = value[key]
    if not isinstance(value, kind) or (isinstance(value, str) and not value):
        raise UnexpectedAnswer(f"{method} answered {'.'.join(path)} as {type(value).__name__} "
                               f"{repr(value)[:40]}")
    return value


def error_code(exc: BaseException) -> str | None:
    """The `error` of a SlackApiError's answer, if it is a string (Slack's own are)."""
    response = getattr(exc, "response", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


def describe(exc: BaseException) -> str:
    """One short line for a log: the error Slack named, else the exception's first line."""
    detail = error_code(exc) or (str(exc).splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {detail}"

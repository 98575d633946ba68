"""What is wrong with a playbook, said so that its author can fix it without reading code.

Every problem becomes one `PlaybookIssue` — file, line (when the YAML gives one), the dotted path
inside the document, what was found and what was expected — and a failed load raises one
`PlaybookError` carrying all of them, so an author fixes a file in one pass, not one error per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn

from pydantic_core import PydanticCustomError

# Validators raise errors of this type family; the loader then reads "expected"/"found" from the
# context instead of pydantic's generic English ("Input should be …").
ERROR_TYPE_PREFIX = "playbook."


@dataclass(frozen=True)
class PlaybookIssue:
    file: str
    line: int | None
    path: str
    found: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        subject = f" {self.path}:" if self.path else ""
        return f"{where}:{subject} found {self.found}, expected {self.expected}"


class PlaybookError(Exception):
    """An invalid playbook; `issues` lists every problem found, in file order."""

    def __init__(self, issues: list[PlaybookIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def invalid(code: str, expected: str, found: str | None = None) -> NoReturn:
    """Fail validation with the playbook's own wording.

    The text goes through the context, not the message template, so braces in user input are safe.
    """
    context: dict[str, str] = {"expected": expected}
    if found is not None:
        context["found"] = found
    raise PydanticCustomError(ERROR_TYPE_PREFIX + code, "{expected}", context)


def describe_value(value: Any) -> str:
    """A short rendering of a YAML value for the "found …" half of a message."""
    from .durations import format_duration  # late: durations imports this module

    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return f"'{value}'" if value else "an empty string"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        keys = ", ".join(str(key) for key in list(value)[:6])
        return f"a mapping with keys {keys}" if value else "an empty mapping"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}" if value else "an empty list"
    return repr(value)

"""Refusing bad input before anything is written, in words the person who typed it reads."""

from __future__ import annotations

import re
from typing import Self

# Characters nobody types on purpose: NUL (PostgreSQL refuses it in text and JSON, so it
# would fail the write), the other C0 controls but tab, newline and carriage return, DEL and
# the C1 controls. Text holding one is refused, not silently changed: what a person submitted
# is evidence in the audit log, so they are asked to fix it.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InputError(Exception):
    """Bad input, found before anything was written.

    `field` names the offending input and `message` is one precise sentence for the person
    who typed it, in Slack mrkdwn: it may name people as `<@U…>`, so a value the person typed
    that it quotes is escaped (`blocks.text.escape`) where the sentence is phrased. `errors`
    maps every offending field found in the same pass to its message (for a modal showing all
    of them at once); `field`/`message` are the first of them.
    """

    def __init__(self, field: str, message: str, errors: dict[str, str] | None = None):
        self.field = field
        self.message = message
        self.errors = dict(errors) if errors else {field: message}
        super().__init__(f"{field}: {message}")

    def __str__(self) -> str:
        return self.message

    @classmethod
    def collect(cls, errors: dict[str, str]) -> Self:
        field, message = next(iter(errors.items()))
        return cls(field, message, errors)


def control_character(label: str, text: str) -> str | None:
    """The sentence refusing `text` if it holds a control character (see _CONTROL), or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (f"{label} contains a control character (U+{ord(found.group()):04X}) at character "
            f"{found.start() + 1}; remove it.")


def check_text(errors: dict[str, str], field: str, label: str, value: str | None, limit: int, *,
               required: str | None = None) -> str | None:
    """Strip `value`; record an error for a missing (when `required` says what is expected),
    over-long or control-character-holding one. Returns the stripped text, None for an empty one."""
    if value is not None and not isinstance(value, str):
        errors[field] = f"{label} must be text."
        return None
    text = (value or "").strip()
    if not text:
        if required:
            errors[field] = f"{label} is missing: {required}."
        return None
    if len(text) > limit:
        errors[field] = f"{label} is {len(text)} characters long; the limit is {limit}."
    elif (problem := control_character(label, text)) is not None:
        errors[field] = problem
    return text


def without_controls(text: str) -> str:
    """Text from another system (a pull request title), where nobody can be asked to fix it:
    each control character becomes a space."""
    return _CONTROL.sub(" ", text)

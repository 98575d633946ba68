"""Refusing bad input before anything is written, in words the person who typed it reads."""

from __future__ import annotations

from typing import Self


class InputError(Exception):
    """Bad input, found before anything was written.

    `field` names the offending input and `message` is one precise sentence for the person
    who typed it. `errors` maps every offending field found in the same pass to its message
    (for a modal showing all of them at once); `field`/`message` are the first of them.
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


def check_text(errors: dict[str, str], field: str, label: str, value: str | None, limit: int, *,
               required: str | None = None) -> str | None:
    """Strip `value`; record an error for a missing (when `required` says what is expected)
    or over-long one. Returns the stripped text, None for an empty one."""
    text = (value or "").strip()
    if not text:
        if required:
            errors[field] = f"{label} is missing: {required}."
        return None
    if len(text) > limit:
        errors[field] = f"{label} is {len(text)} characters long; the limit is {limit}."
    return text

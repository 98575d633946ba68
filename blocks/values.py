"""Reading back the values our buttons carry. They return from the client, so they are input:
anyone can send a click with any value. A value that is not one we could have built is an
InputError the listener's person is told about — never an int() that raises, nor a 20-digit
id sent to a 32-bit column."""

from __future__ import annotations

from services.inputs import InputError

ID_MAX = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL
NOT_OURS = ("That button did not come from this version of Countersign (or was altered), so "
            "nothing was changed. Use the buttons on a current message, or the command.")


class ButtonValueError(InputError):
    def __init__(self, why: str) -> None:
        super().__init__("button", NOT_OURS)
        self.why = why  # for the log; the person is told NOT_OURS

    def __repr__(self) -> str:
        return f"ButtonValueError({self.why!r})"


def parts(value: object, count: int, *, rest: bool = False) -> list[str]:
    """`value` split at ':' into exactly `count` parts (`rest`: the last keeps any colons)."""
    if not isinstance(value, str) or not value:
        raise ButtonValueError("no value")
    pieces = value.split(":", count - 1) if rest else value.split(":")
    if len(pieces) != count:
        raise ButtonValueError(f"{len(pieces)} parts, not {count}")
    return pieces


def number(text: str, *, low: int = 1, high: int = ID_MAX) -> int:
    """Plain ASCII digits between `low` and `high` (no sign, space, underscore or other script)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        raise ButtonValueError(f"not a number: {text[:20]!r}")
    value = int(text)
    if not low <= value <= high:
        raise ButtonValueError(f"{value} is outside {low}..{high}")
    return value


def record_id(text: str) -> int:
    return number(text)

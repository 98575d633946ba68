"""Reading back the `private_metadata` of our own views.

We write it when a modal opens, but it returns with the submission from the client, so it is
input like any other: anything that is not exactly what we wrote (a request id, a channel id,
a message ts) is refused at the boundary, before a service sees it, and the person is told on
the form (`response_action: errors`) with nothing written.
"""

from __future__ import annotations

import re
from typing import Any

from blocks import values
from handlers.registry_context import errors_for

# What a form tells its submitter when its metadata is not ours; nothing was written.
LOST = "This form lost track of what it was for; close it and open it again."
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,20}")
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


class BadMetadata(ValueError):
    """The submitted `private_metadata` is not what the view was opened with."""


def parts(view: dict[str, Any], count: int) -> list[str]:
    """The metadata split on `:` into exactly `count` parts."""
    raw = view.get("private_metadata")
    if not isinstance(raw, str):
        raise BadMetadata("private_metadata is not text")
    found = raw.split(":")
    if len(found) != count:
        raise BadMetadata(f"private_metadata has {len(found)} parts, not {count}")
    return found


def record_id(text: str) -> int:
    """A row id as we write them: plain digits within an integer column (a 20-digit number
    would overflow PostgreSQL's), read the way button values are."""
    try:
        return values.record_id(text)
    except values.ButtonValueError:
        raise BadMetadata("not a record id") from None


def channel_id(text: str) -> str | None:
    """A Slack conversation id (C…, G…, D…), or None for an empty part."""
    if text == "":
        return None
    if not _CHANNEL.fullmatch(text):
        raise BadMetadata("not a channel id")
    return text


def message_ts(text: str) -> str:
    if not _TS.fullmatch(text):
        raise BadMetadata("not a message ts")
    return text


def one_of(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise BadMetadata("not an expected word")
    return text


def refusal(view: dict[str, Any]) -> dict[str, Any]:
    """The ack for a submission whose metadata is not ours: the explanation on the form."""
    return errors_for(view, {"private_metadata": LOST})

"""What a person is told when their request was not taken: a fault on our side, or a button,
form or command this version of Countersign does not know. Nothing was changed either way."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from blocks.text import md

UNKNOWN_BUTTON = ("That button is not one this version of Countersign knows, so nothing was "
                  "changed. Use the buttons on a current message.")
UNKNOWN_FORM = ("This form is not one this version of Countersign knows, so nothing was saved. "
                "Close it and start again from the command.")
UNKNOWN_SHORTCUT = "That shortcut is not one this version of Countersign knows; nothing was changed."
UNKNOWN_COMMAND = ("That command is not one this version of Countersign knows; nothing was "
                   "changed. `/ai-approve help` lists the commands.")


def fault(reference: str) -> str:
    """`reference` is our own request id, never request content."""
    return ("Sorry, that did not work because of a fault on our side. Nothing was changed. "
            f"Reference for your admin: {reference}.")


def database_unavailable(reference: str) -> str:
    """`reference` is our own request id, never request content."""
    return ("Sorry, Countersign cannot reach its database right now, so that did not work and "
            f"nothing was changed. Please try again in a minute. Reference for your admin: {reference}.")


def notice_modal(text: str) -> dict[str, Any]:
    """A small modal with one sentence of mrkdwn, pushed over a form (which stays underneath,
    as it was) or in place of one that cannot be taken."""
    return View(type="modal", title="Countersign", close="OK",
                blocks=[SectionBlock(text=md(text))]).to_dict()

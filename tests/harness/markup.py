"""Finding live Slack markup in what the bot sends: the strings Slack parses for mentions and
links are mrkdwn text objects and a message's top-level `text` (plain_text objects, input
values and button labels are shown literally, so markup there is inert)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# A ping to everyone (or a group) as Slack would send it. Only a value a person typed can
# carry these: the bot builds user-group mentions from playbook ids, which tests choose apart.
BROADCASTS = ("<!channel", "<!here", "<!everyone", "<!group")


def text_objects(node: Any, kind: str) -> Iterator[str]:
    """The text of every text object of `kind` ("mrkdwn" or "plain_text") anywhere in `node`."""
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from text_objects(value, kind)
    elif isinstance(node, list):
        for value in node:
            yield from text_objects(value, kind)


def parsed_texts(payload: Any) -> list[str]:
    """Every string in `payload` (a message, a view, Web API arguments, a response_url body)
    that Slack reads as mrkdwn."""
    found = list(text_objects(payload, "mrkdwn"))
    if isinstance(payload, dict):
        if isinstance(payload.get("text"), str):
            found.append(payload["text"])
        for attachment in payload.get("attachments") or []:  # legacy attachments are parsed too
            if isinstance(attachment, dict):
                found += [attachment[k] for k in ("text", "pretext", "fallback") if isinstance(attachment.get(k), str)]
    return found


def live(payload: Any, markers: tuple[str, ...] = BROADCASTS) -> list[str]:
    """The parsed strings of `payload` holding any of `markers`."""
    return [text for text in parsed_texts(payload) if any(m in text for m in markers)]

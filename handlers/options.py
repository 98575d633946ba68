"""Search pickers: Slack asks for the options matching what someone typed (block_suggestion)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.registry_forms import SEARCH
from handlers.registry_context import in_session
from services import registry

KINDS = {action_id: ("vendor" if field == "vendors" else "usecase") for field, action_id in SEARCH.items()}


def _options(matches: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": label if len(label) <= 75 else label[:74] + "…"},
             "value": str(record_id)} for record_id, label in matches]


def _search(kind: str) -> Any:
    async def on_search(ack: Any, body: dict[str, Any], context: Any) -> None:
        query = (body.get("value") or "")[:100]
        matches = await in_session(context["services"], lambda s: registry.search(s, kind, query, limit=100))
        await ack(options=_options(matches))
    return on_search


def register(app: AsyncApp) -> None:
    for action_id, kind in KINDS.items():
        app.options(action_id)(_search(kind))

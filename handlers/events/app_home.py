"""App Home: what waits for your sign-off and your own requests, with the same buttons."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.home import HOME_WAITING, HOME_MINE, home_view
from services import approvals


async def publish_home(client: AsyncWebClient, services: Any, user: str,
                       notice: str | None = None) -> None:
    resolution = await services.directory.resolve(services.playbook.current.playbook)

    def load() -> tuple[list[dict], list[dict]]:
        with services.db.session() as s:
            # One more than shown tells whether to say "more".
            return (approvals.waiting_for(s, user=user, group_members=resolution.members,
                                          limit=HOME_WAITING + 1, offset=0),
                    approvals.requested_by(s, user=user, limit=HOME_MINE + 1, offset=0))

    waiting, mine = await asyncio.to_thread(load)
    await client.views_publish(user_id=user, view=home_view(waiting=waiting, mine=mine,
                                                            notice=notice))


async def on_app_home_opened(event: dict[str, Any], client: AsyncWebClient,
                             context: Any) -> None:
    if event.get("tab", "home") != "home":
        return
    await publish_home(client, context["services"], event["user"])


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_app_home_opened)

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.home import home_view


async def on_app_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
    if event.get("tab", "home") != "home":
        return
    await client.views_publish(user_id=event["user"], view=home_view())


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_app_home_opened)

"""Slack clients and the Bolt app factory: settings in, app out, no globals."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from handlers import register_listeners


def web_client(settings: Settings, *, in_call_retries: bool = True) -> AsyncWebClient:
    """A Web API client on SLACK_API_URL.

    Listeners' calls (views.open, views.publish, …) are safe to repeat, so slack_sdk's
    retry handlers absorb 429s, dropped connections and 5xx. The outbox dispatcher
    asks for none: it retries from its rows and checks before re-posting.
    """
    handlers = (
        [
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
        if in_call_retries
        else []
    )
    return AsyncWebClient(
        token=settings.secret("SLACK_BOT_TOKEN"),
        base_url=settings.slack_api_url,
        timeout=settings.slack_api_timeout,  # type: ignore[arg-type]
        retry_handlers=handlers,
        logger=logging.getLogger("slack_sdk.web"),
    )


def create_app(settings: Settings, services: Any, *, socket_mode: bool = False) -> AsyncApp:
    signing_secret = None if socket_mode else settings.secret("SLACK_SIGNING_SECRET")
    app = AsyncApp(
        client=web_client(settings),
        signing_secret=signing_secret,
        # Socket Mode frames come over our own authenticated websocket, unsigned.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("countersign.bolt"),
    )
    register_listeners(app, services)
    return app

"""The ASGI app: Slack's endpoint, health, readiness and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import api_usage, github_webhook, logs, metrics, slack_endpoint
from bot.api import api_routes
from bot.bootstrap import Services, background
from bot.github_webhook import GitHubWebhook
from bot.redelivery import Redelivery
from bot.slack_endpoint import SlackEndpoint

log = logging.getLogger("countersign.http")


class RequestContext:
    """Pure ASGI middleware (no task hop) so log fields bound inside Bolt reach the access line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex[:16]
        logs.bind(request_id=request_id, team=None, user=None, action=None)
        started = time.perf_counter()
        status = 500

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            latency = time.perf_counter() - started
            path = scope.get("path", "")
            if path == "/slack/events":
                # Labelled by names we defined (SlackEndpoint), never by request content.
                label = scope.get(slack_endpoint.LABEL, slack_endpoint.UNVERIFIED)
                metrics.SLACK_REQUESTS.labels(label, str(status)).inc()
                metrics.ACK_LATENCY.observe(latency)
            elif path == "/github/webhook":
                event = headers.get(b"x-github-event", b"").decode(errors="replace")
                # Labelled by the events the App knows, never by what a sender wrote.
                label = event if event in github_webhook.EVENTS or event == "ping" else "other"
                metrics.GITHUB_WEBHOOKS.labels(label, str(status)).inc()
                metrics.GITHUB_ACK_LATENCY.observe(latency)
            if path not in ("/healthz", "/metrics"):
                log.info("%s %s %d", scope.get("method"), path, status,
                         extra={"status": status, "latency_ms": round(latency * 1000, 2),
                                "path": path})


def create_web_app(services: Services, slack_app: AsyncApp, *, with_clock: bool) -> Any:
    endpoint = SlackEndpoint(slack_app, services.settings.secret("SLACK_SIGNING_SECRET"))
    slack_events = endpoint.handle
    # As often as the clock sweeps for due timers: the same kind of safety net.
    redelivery = Redelivery(services, endpoint.replay, interval=services.settings.timer_sweep_interval)

    if services.extras.get("github") is not None:
        github_route = GitHubWebhook(services, services.settings.secret("GITHUB_WEBHOOK_SECRET")).handle
    else:
        async def github_route(_: Request) -> Response:
            return JSONResponse({"ok": False, "error": "the GitHub App is not configured: set "
                                 "GITHUB_APP_ID, GITHUB_PRIVATE_KEY and GITHUB_WEBHOOK_SECRET"},
                                status_code=404)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        def ping() -> None:
            with services.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(services.db.run(ping), timeout=3)
        except Exception as exc:
            log.warning("not ready: database unreachable: %s", exc)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    async def metrics_endpoint(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            async with background(services, with_clock=with_clock):
                redelivery.start()  # after background(): a dead process's claims are released
                try:
                    yield
                finally:
                    await redelivery.stop()
        finally:
            workers = services.extras.get(api_usage.WORKERS)
            if workers is not None:
                workers.close()
            services.db.dispose()

    app = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/github/webhook", github_route, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *api_routes(services),
        ],
        lifespan=lifespan,
    )
    return RequestContext(app)

"""POST /github/webhook: GitHub's deliveries to the App, verified, kept, answered at once.

The signature (X-Hub-Signature-256, HMAC-SHA256 of the raw body) is checked by githubkit
before anything is read; a delivery of an event the App acts on is committed under its
X-GitHub-Delivery id and answered 202, and the clock does the work afterwards
(services/pull_requests/deliveries.py), well inside the 10 seconds GitHub waits.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from githubkit.webhooks import verify
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.pull_requests import deliveries

log = logging.getLogger("countersign.github")

EVENTS = ("pull_request", "check_run")
# GitHub caps a delivery at 25 MB; a pull_request event is a few tens of kilobytes.
BODY_MAX = 25 * 1024 * 1024
_DELIVERY = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_ACTION = re.compile(r"^[a-z_]{1,64}$")


def _answer(status: int, **body: Any) -> Response:
    return JSONResponse({"ok": status < 400, **body}, status_code=status)


class GitHubWebhook:
    def __init__(self, services: Any, secret: str) -> None:
        self.services = services
        self.secret = secret

    async def handle(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > BODY_MAX:
            return _answer(413, error="the delivery is larger than GitHub sends")
        body = await request.body()
        signature = request.headers.get("x-hub-signature-256", "")
        if not signature or len(body) > BODY_MAX or not verify(self.secret, body, signature):
            log.warning("GitHub webhook refused: %s signature",
                        "no" if not signature else "a wrong")
            return _answer(401, error="invalid or missing X-Hub-Signature-256")
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        if event == "ping":
            return _answer(200, pong=True)
        if not _DELIVERY.match(delivery):
            return _answer(400, error="X-GitHub-Delivery is missing or not a delivery id")
        if event not in EVENTS:
            return _answer(202, ignored=f"Countersign does not act on {event[:64] or 'unnamed'} events")
        if "json" not in request.headers.get("content-type", ""):
            return _answer(415, error="set the App's webhook content type to application/json")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _answer(400, error="the body is not JSON")
        action = payload.get("action") if isinstance(payload, dict) else None
        if not isinstance(action, str) or not _ACTION.match(action):
            return _answer(400, error="the payload has no action")
        text = body.decode()
        if "\x00" in text:  # PostgreSQL keeps no NUL in text; JSON only ever escapes one
            return _answer(400, error="the body holds a NUL character")
        now = self.services.clock.now()

        def keep() -> bool:
            with self.services.db.session() as s:
                return deliveries.record(s, delivery_id=delivery, event=event, action=action,
                                         body=text, now=now)

        taken = await self.services.db.run(keep)
        log.info("GitHub %s.%s delivery %s %s", event, action, delivery,
                 "kept" if taken else "taken before (a redelivery)")
        return _answer(202, delivery=delivery, duplicate=not taken)

"""POST /slack/events: signature first, then the body's shape, then Bolt.

Nothing unverifiable goes further than the signature check (401, nothing read, nothing
written); nothing Bolt would trip over reaches Bolt (bot/slack_payload). The request's metric
label is set here from names we defined (handlers.listened_to), never from request content.

Bolt's own signature check stays on behind ours: it is what guards the app wherever it is
mounted without this endpoint, and on what passes here it agrees (same secret, same bytes,
same 5-minute window either way), at the cost of one more HMAC.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import slack_payload, slack_signature
from handlers import catalogue, listened_to

log = logging.getLogger("countersign.http")
LABEL = "countersign.slack_label"  # the scope key RequestContext labels the request's metrics by
UNVERIFIED = "unverified"
REFUSED = "refused"
UNVERIFIED_ANSWER = {"error": "invalid request: not signed by Slack with this app's signing "
                              "secret within the last 5 minutes"}


class SlackEndpoint:
    def __init__(self, slack_app: AsyncApp, signing_secret: str) -> None:
        self.app = slack_app
        self.verifier = slack_signature.BytesSignatureVerifier(signing_secret)
        self.listened_to = listened_to()

    async def handle(self, request: Request) -> Response:
        request.scope[LABEL] = UNVERIFIED
        raw = await request.body()
        problem = slack_signature.problem(self.verifier, request.headers, raw)
        if problem is not None:
            log.info("refused an unverifiable Slack request: %s", problem)
            return JSONResponse(UNVERIFIED_ANSWER, status_code=401)
        request.scope[LABEL] = REFUSED
        try:
            parsed = slack_payload.parse(raw, request.headers.get("content-type"))
            kind = slack_payload.check(parsed)
        except slack_payload.Refusal as refusal:
            log.info("refused a Slack request: %s", refusal.reason)
            return JSONResponse(refusal.answer, status_code=refusal.status)
        request.scope[LABEL] = self.label(kind, parsed.body)
        if kind in ("ssl_check", "app_rate_limited"):  # nothing to do but say we are here
            if kind == "app_rate_limited":
                log.warning("Slack is holding back our events this minute (app_rate_limited)")
            return Response(status_code=200)
        return to_starlette_response(await self.app.async_dispatch(self.bolt_request(request, parsed)))

    async def replay(self, raw: str, content_type: str | None) -> None:
        """A request a process died on after acknowledging it (bot/redelivery.py), handled again.

        Its signature was checked when it came and is older than Bolt would accept now, so it
        goes to Bolt as Bolt takes a Socket Mode frame, unsigned; Slack has had its answer, so
        the one Bolt gives is dropped. The listener answers its person on the response_url.
        """
        parsed = slack_payload.parse(raw.encode(), content_type)
        slack_payload.check(parsed)  # it passed once; a refusal here is a bug, not a replay
        bolt = AsyncBoltRequest(body=parsed.text, headers={"content-type": content_type or ""},
                                mode="socket_mode")
        if bolt.body != parsed.body:  # as in bolt_request
            bolt.body = parsed.body
            bolt.context = build_async_context(AsyncBoltContext(), parsed.body)
        await self.app.async_dispatch(bolt)

    def label(self, kind: str, body: dict[str, Any]) -> str:
        target = catalogue.addressed(kind, body)
        return kind if target is None else self.listened_to.label(*target)

    @staticmethod
    def bolt_request(request: Request, parsed: slack_payload.Parsed) -> AsyncBoltRequest:
        bolt = AsyncBoltRequest(body=parsed.text, query=request.query_params,  # type: ignore[arg-type]
                                headers=request.headers)  # type: ignore[arg-type]
        if bolt.body != parsed.body:
            # Bolt reads any form whose text contains "payload" (a slash command saying
            # "payload") as an interactive payload, finds none, and sees an empty body.
            bolt.body = parsed.body
            bolt.context = build_async_context(AsyncBoltContext(), parsed.body)
        return bolt

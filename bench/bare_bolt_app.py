"""The baseline for bench/ack_latency.py: Bolt for Python with nothing of Countersign's.

Same stack as `countersign serve` (AsyncApp → AsyncSlackRequestHandler → Starlette →
uvicorn, same uvicorn options) and the same answers in size and kind, so what Countersign
costs on top (its middleware, the de-duplication insert, logging, metrics) is the difference.

    SLACK_SIGNING_SECRET=… SLACK_BOT_TOKEN=xoxb-… SLACK_API_URL=http://127.0.0.1:PORT/api/ \
        python bench/bare_bolt_app.py --port 3001
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Roughly the size of Countersign's `/ai-approve help` answer (~3.4 kB of JSON), so the
# response bytes cost both servers the same.
_LINE = "• `/ai-approve code|copy|launch <reference> <title>` — request sign-off directly\n"
HELP = {
    "response_type": "ephemeral",
    "text": "Commands: /ai-approve, /ai-incident, /ai-oncall, /ai-usecase, /ai-vendor, /ai-audit",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Baseline help", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _LINE * 34}},
    ],
}
# About the size of Countersign's home tab; published after the ack, as Countersign does.
HOME = {
    "type": "home",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": _LINE * 12}}],
}


def create_app() -> Starlette:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"],
                            base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"],
                    process_before_response=False)

    @bolt.command("/ai-approve")
    async def approve(ack) -> None:  # noqa: ANN001
        await ack(**HELP)

    # Countersign answers this event too; without a listener Bolt would answer 404.
    @bolt.event("app_home_opened")
    async def home(event, client) -> None:  # noqa: ANN001
        await client.views_publish(user_id=event["user"], view=HOME)

    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/slack/events", slack_events, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_config=None,
                access_log=False, lifespan="on")


if __name__ == "__main__":
    main()

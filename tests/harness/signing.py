"""Requests to the bot's HTTP endpoint, signed exactly as Slack signs them (or deliberately not).

Slack's v0 scheme: X-Slack-Signature = "v0=" + hex(HMAC-SHA256(secret, f"v0:{timestamp}:{body}")),
X-Slack-Request-Timestamp = timestamp; receivers reject timestamps more than 5 minutes off.
"""

import hashlib
import hmac
import json
import time
from typing import Literal
from urllib.parse import urlencode

import httpx

from tests.harness import payloads
from tests.harness.fake_slack import FakeSlack
from tests.harness.workspace import TEAM_ID

Signing = Literal["valid", "unsigned", "forged", "stale", "tampered"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
STALE_AGE_SECONDS = 6 * 60  # past the 5 minutes receivers accept


class SlackSigner:
    def __init__(self, secret: str):
        self._secret = secret.encode()

    def signature(self, body: str | bytes, timestamp: int | str) -> str:
        # Slack signs the body's bytes; bytes let a test sign a body that is not UTF-8.
        raw = body if isinstance(body, bytes) else body.encode()
        base = f"v0:{timestamp}:".encode() + raw
        return "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()

    def headers(self, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": self.signature(body, timestamp)}


class SignedSlackClient:
    """Posts Slack-shaped requests to {base_url}/slack/events and returns the httpx.Response.

    Every builder takes `signing`: "valid" (default), "unsigned" (no signature headers),
    "forged" (signed with another secret), "stale" (validly signed 6 minutes ago) or
    "tampered" (validly signed, then the body changed). With `fake`, response_urls point
    at the fake (keyed by trigger_id) and messages/views default to what the fake stores.
    """

    def __init__(self, base_url: str, signing_secret: str, fake: FakeSlack | None = None, timeout: float = 10.0):
        self.url = f"{base_url.rstrip('/')}/slack/events"
        self.signer = SlackSigner(signing_secret)
        self._forger = SlackSigner("not-" + signing_secret)
        self._fake = fake
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "SignedSlackClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- builders ------------------------------------------------------------------------

    def command(self, command: str, text: str = "", *, user_id: str = "U0USER", user_name: str | None = None,
                channel_id: str = "C0CHAN", team_id: str = TEAM_ID, trigger_id: str | None = None,
                response_url: str | None = None, retry_num: int | None = None,
                extra_headers: dict | None = None, signing: Signing = "valid") -> httpx.Response:
        trigger_id = trigger_id or payloads.new_trigger_id()
        fields = payloads.slash_command(
            command, text, user_id=user_id, user_name=user_name, channel_id=channel_id, team_id=team_id,
            trigger_id=trigger_id, response_url=response_url or self._response_url(trigger_id),
        )
        headers = dict(extra_headers or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        return self._send(urlencode(fields), FORM, signing, headers)

    def block_action(self, action_id: str, value: str | None = None, *, user_id: str = "U0USER",
                     channel_id: str = "C0CHAN", message_ts: str | None = None, block_id: str | None = None,
                     trigger_id: str | None = None, container: dict | None = None, view: dict | None = None,
                     state: dict | None = None, extra_headers: dict | None = None,
                     signing: Signing = "valid") -> httpx.Response:
        """A click on `action_id`. With a fake and message_ts, the clicked message is the one the
        fake stores, so block_id and value come from the bot's own button. `state` is the
        message's state.values (e.g. ticked checkboxes) at the time of the click."""
        trigger_id = trigger_id or payloads.new_trigger_id()
        payload = payloads.block_actions(
            action_id, value, user_id=user_id, channel_id=channel_id, message_ts=message_ts, block_id=block_id,
            trigger_id=trigger_id, container=container, view=view,
            message=self._stored_message(channel_id, message_ts),
            response_url=self._response_url(trigger_id), state=state,
        )
        return self._send_interactive(payload, signing, extra_headers)

    def view_submission(self, callback_id: str, values: dict, *, user_id: str = "U0USER",
                        private_metadata: str | None = None, view_id: str = "V0VIEW",
                        trigger_id: str | None = None, extra_headers: dict | None = None,
                        signing: Signing = "valid") -> httpx.Response:
        """Submit a modal. With a fake that knows view_id, the submitted view is the one the bot
        opened, private_metadata included unless given here."""
        opened = self._fake.view(view_id) if self._fake else None
        if private_metadata is None:
            private_metadata = opened["private_metadata"] if opened else ""
        payload = payloads.view_submission(callback_id, values, user_id=user_id, private_metadata=private_metadata,
                                           view_id=view_id, trigger_id=trigger_id, view=opened)
        return self._send_interactive(payload, signing, extra_headers)

    def block_suggestion(self, action_id: str, value: str, *, block_id: str, view_id: str,
                         user_id: str = "U0USER", signing: Signing = "valid") -> httpx.Response:
        """Type `value` into the external select `action_id` of a form the bot opened."""
        view = self._fake.view(view_id) if self._fake else {"id": view_id, "blocks": []}
        payload = payloads.block_suggestion(action_id, value, block_id=block_id, view=view, user_id=user_id)
        return self._send_interactive(payload, signing, None)

    def message_shortcut(self, callback_id: str, message: dict, *, channel_id: str = "C0CHAN",
                         user_id: str = "U0USER", trigger_id: str | None = None,
                         extra_headers: dict | None = None, signing: Signing = "valid") -> httpx.Response:
        trigger_id = trigger_id or payloads.new_trigger_id()
        payload = payloads.message_shortcut(callback_id, message, channel_id=channel_id, user_id=user_id,
                                            trigger_id=trigger_id, response_url=self._response_url(trigger_id))
        return self._send_interactive(payload, signing, extra_headers)

    def event(self, event: dict, event_id: str | None = None, retry_num: int | None = None,
              retry_reason: str | None = None, *, extra_headers: dict | None = None,
              signing: Signing = "valid") -> httpx.Response:
        """An Events API delivery; retry_num/retry_reason become Slack's retry headers."""
        headers = dict(extra_headers or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(payloads.event_callback(event, event_id=event_id))
        return self._send(body, JSON, signing, headers)

    def url_verification(self, challenge: str, *, signing: Signing = "valid") -> httpx.Response:
        return self._send(json.dumps(payloads.url_verification(challenge)), JSON, signing, {})

    def post_raw(self, body: str | bytes, headers: dict, content_type: str = FORM) -> httpx.Response:
        """Post `body` with exactly these headers (plus Content-Type): nothing is signed for you."""
        raw = body if isinstance(body, bytes) else body.encode()
        return self._http.post(self.url, content=raw, headers={"Content-Type": content_type, **headers})

    # -- internals -----------------------------------------------------------------------

    def _response_url(self, trigger_id: str) -> str | None:
        return self._fake.response_url(trigger_id) if self._fake else None

    def _stored_message(self, channel_id: str, ts: str | None) -> dict | None:
        if self._fake is None or ts is None:
            return None
        return next((m for m in self._fake.messages(channel_id) if m["ts"] == ts), None)

    def _send_interactive(self, payload: dict, signing: Signing, extra_headers: dict | None) -> httpx.Response:
        # Interactivity arrives form-encoded with the JSON in a single "payload" field.
        return self._send(urlencode({"payload": json.dumps(payload)}), FORM, signing, dict(extra_headers or {}))

    def _send(self, body: str, content_type: str, signing: Signing, headers: dict) -> httpx.Response:
        headers = {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", **headers}
        sent = body
        if signing == "valid":
            headers.update(self.signer.headers(body))
        elif signing == "forged":
            headers.update(self._forger.headers(body))
        elif signing == "stale":
            headers.update(self.signer.headers(body, int(time.time()) - STALE_AGE_SECONDS))
        elif signing == "tampered":
            headers.update(self.signer.headers(body))
            sent = body + ("&tampered=1" if content_type == FORM else " ")
        elif signing != "unsigned":
            raise ValueError(f"unknown signing mode {signing!r}")
        return self.post_raw(sent, headers, content_type)

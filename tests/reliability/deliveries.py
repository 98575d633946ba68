"""Slack deliveries built once and sent as often as Slack sends them: the original, and retries
of the very same body with X-Slack-Retry-Num, each to whichever bot process the balancer picks.

SignedSlackClient builds a fresh body per call (new action_ts), so a retry made with it would
not be Slack's retry; here the body is fixed first and only the signature headers are added
at each send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from tests.harness import payloads
from tests.harness.fake_slack import FakeSlack
from tests.harness.signing import FORM, SignedSlackClient


@dataclass(frozen=True)
class Delivery:
    body: str
    trigger_id: str
    label: str

    def send(self, client: SignedSlackClient, retry_num: int | None = None) -> httpx.Response:
        headers = client.signer.headers(self.body)
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        return client.post_raw(self.body, headers, FORM)


def command(fake: FakeSlack, command: str, text: str, *, user_id: str, channel_id: str) -> Delivery:
    trigger_id = payloads.new_trigger_id()
    fields = payloads.slash_command(command, text, user_id=user_id, channel_id=channel_id, trigger_id=trigger_id,
                                    response_url=fake.response_url(trigger_id))
    return Delivery(urlencode(fields), trigger_id, f"{command} by {user_id}")


def click(fake: FakeSlack, action_id: str, *, user_id: str, channel_id: str, message: dict) -> Delivery:
    """A press of the bot's own button in `message` as the fake stores it (value and block_id
    are the button's); the answer goes to the fake's response_url for the trigger."""
    trigger_id = payloads.new_trigger_id()
    payload = payloads.block_actions(action_id, user_id=user_id, channel_id=channel_id, message_ts=message["ts"],
                                     message=message, trigger_id=trigger_id,
                                     response_url=fake.response_url(trigger_id))
    return Delivery(urlencode({"payload": json.dumps(payload)}), trigger_id, f"{action_id} by {user_id}")


def submission(callback_id: str, values: dict, *, user_id: str, private_metadata: str) -> Delivery:
    trigger_id = payloads.new_trigger_id()
    payload = payloads.view_submission(callback_id, values, user_id=user_id, private_metadata=private_metadata,
                                       trigger_id=trigger_id)
    return Delivery(urlencode({"payload": json.dumps(payload)}), trigger_id, f"{callback_id} by {user_id}")

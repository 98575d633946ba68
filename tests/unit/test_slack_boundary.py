"""The /slack/events boundary on its own: signature headers, body parsing, payload shapes, and
the names metrics may carry."""

import hashlib
import hmac
import json
import re
import time
from urllib.parse import urlencode

import pytest

import handlers
from bot import slack_payload, slack_signature
from handlers import catalogue
from tests.harness import payloads
from tests.harness.signing import SlackSigner

SECRET = "unit-signing-secret"
VERIFIER = slack_signature.BytesSignatureVerifier(SECRET)
FORM = "application/x-www-form-urlencoded"


def signed(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 headers over the raw bytes, computed here rather than by the code under test."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


def test_a_properly_signed_body_passes_even_when_it_is_not_utf8():
    for body in (b"token=x&command=%2Fai-approve", b"\xff\xfe{\x00}\x00"):
        assert slack_signature.problem(VERIFIER, signed(body), body) is None


@pytest.mark.parametrize("timestamp", ["", " ", "abc", "1.5", f"{int(time.time())}.0", "-1",
                                       f" {int(time.time())}", f"{int(time.time()):_}", "١٢٣",
                                       "9" * 40])
def test_malformed_timestamps_are_unverifiable_not_errors(timestamp):
    body = b"x=1"
    headers = {"x-slack-request-timestamp": timestamp,
               "x-slack-signature": SlackSigner(SECRET).signature("x=1", int(time.time()))}
    assert slack_signature.problem(VERIFIER, headers, body) is not None


@pytest.mark.parametrize("signature", ["", "v0=", "v0=é" + "0" * 63, "v1=" + "0" * 64, "v0=" + "G" * 64,
                                       "v0=" + "0" * 63, "\u00ff" * 67])
def test_malformed_signatures_are_unverifiable_not_errors(signature):
    headers = {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": signature}
    assert slack_signature.problem(VERIFIER, headers, b"x=1") is not None


@pytest.mark.parametrize("age", [301, -301])
def test_stale_and_future_timestamps_are_refused(age):
    body = b"x=1"
    assert slack_signature.problem(VERIFIER, signed(body, int(time.time()) - age), body)


def test_a_tampered_body_or_missing_header_is_refused():
    headers = signed(b"x=1")
    assert slack_signature.problem(VERIFIER, headers, b"x=2")
    assert slack_signature.problem(VERIFIER, {"x-slack-signature": headers["x-slack-signature"]}, b"x=1")


def test_a_signature_header_given_twice_is_refused():
    from starlette.datastructures import Headers

    body = b"x=1"
    good = signed(body)
    twice = Headers(raw=[(k.encode(), v.encode()) for k, v in good.items()]
                    + [(b"x-slack-signature", b"v0=" + b"0" * 64)])
    assert slack_signature.problem(VERIFIER, Headers(good), body) is None
    assert slack_signature.problem(VERIFIER, twice, body) == "a signature header is given more than once"


def interactive(payload) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


BLOCK_ACTION = payloads.block_actions("approval_approve", "1:1")
VIEW = payloads.view_submission("approval_new", {})
EVENT = payloads.event_callback({"type": "app_home_opened", "user": "U1", "tab": "home"})
COMMAND = payloads.slash_command("/ai-approve", "help")

REFUSED = {
    "empty body": (b"", FORM),
    "empty payload": (interactive(""), FORM),
    "payload not json": (interactive("{not json"), FORM),
    "payload a list": (interactive([]), FORM),
    "payload null": (interactive("null"), FORM),
    "payload deeply nested": (interactive("[" * 5000 + "]" * 5000), FORM),
    "payload nested past the limit": (interactive({"a": json.loads("[" * 60 + "]" * 60)}), FORM),
    "actions empty": (interactive({**BLOCK_ACTION, "actions": []}), FORM),
    "action id not text": (interactive({**BLOCK_ACTION, "actions": [{"action_id": 5}]}), FORM),
    "view a string": (interactive({**VIEW, "view": "x"}), FORM),
    "view null": (interactive({**VIEW, "view": None}), FORM),
    "user missing": (interactive({k: v for k, v in BLOCK_ACTION.items() if k != "user"}), FORM),
    "user id a number": (interactive({**BLOCK_ACTION, "user": {"id": 5}}), FORM),
    "command key in a payload": (interactive({**BLOCK_ACTION, "command": None}), FORM),
    "unknown type": (interactive({**BLOCK_ACTION, "type": "interactive_message"}), FORM),
    "state values not objects": (interactive({**BLOCK_ACTION, "state": {"values": {"b": 1}}}), FORM),
    # Otherwise what Slack sends; json.dumps writes the lone half of a pair as a \ud83d escape.
    "payload with a lone surrogate": (interactive(
        {**BLOCK_ACTION, "actions": [{**BLOCK_ACTION["actions"][0], "value": "a\ud83db"}]}), FORM),
    "events body with a lone surrogate": (json.dumps(
        {**EVENT, "event": {**EVENT["event"], "tab": "\udfff"}}).encode(), "application/json"),
    "submitted view state without values": (interactive({**VIEW, "view": {**VIEW["view"], "state": {}}}), FORM),
    "submitted view without a type": (interactive(
        {**VIEW, "view": {k: v for k, v in VIEW["view"].items() if k != "type"}}), FORM),
    "events body a list": (b"[]", "application/json"),
    "events body null": (b"null", "application/json"),
    "event not an object": (json.dumps({**EVENT, "event": "x"}).encode(), "application/json"),
    "event type missing": (json.dumps({**EVENT, "event": {"user": "U1"}}).encode(), "application/json"),
    "authorizations not a list": (json.dumps({**EVENT, "authorizations": "x"}).encode(), "application/json"),
    "invalid utf-8": (b"\xff\xfe{}", "application/json"),
    "utf-16": (json.dumps(EVENT).encode("utf-16"), "application/json"),
    "utf-8 with a BOM": (b"\xef\xbb\xbf" + json.dumps(EVENT).encode(), "application/json"),
    "form neither command nor payload": (b"x=1", FORM),
    "command with a view field": (urlencode({**COMMAND, "view": "x"}).encode(), FORM),
    "shortcut without a response_url": (interactive(
        {k: v for k, v in payloads.message_shortcut("report_ai_incident", {"ts": "1.2"}).items()
         if k != "response_url"}), FORM),
}


@pytest.mark.parametrize("case", REFUSED)
def test_bodies_slack_never_sends_are_refused_with_a_reason(case):
    raw, content_type = REFUSED[case]
    with pytest.raises(slack_payload.Refusal) as refused:
        slack_payload.check(slack_payload.parse(raw, content_type))
    assert refused.value.status == 400
    assert refused.value.answer == {"error": refused.value.reason} and refused.value.reason


def test_a_slash_command_without_a_user_is_answered_ephemerally():
    fields = {k: v for k, v in COMMAND.items() if k != "user_id"}
    with pytest.raises(slack_payload.Refusal) as refused:
        slack_payload.check(slack_payload.parse(urlencode(fields).encode(), FORM))
    assert refused.value.status == 200
    assert refused.value.answer["response_type"] == "ephemeral"


@pytest.mark.parametrize("raw, content_type, kind", [
    (urlencode(COMMAND).encode(), FORM, "command"),
    (urlencode(payloads.slash_command("/ai-approve", "code payload")).encode(), FORM, "command"),
    (interactive(BLOCK_ACTION), FORM, "block_actions"),
    (interactive(VIEW), FORM, "view_submission"),
    (interactive(payloads.message_shortcut("report_ai_incident", {"ts": "1.2", "text": "x"})), FORM,
     "message_action"),
    (interactive({k: v for k, v in payloads.message_shortcut("x", {"ts": "1"}).items() if k != "message"}),
     FORM, "message_action"),
    (json.dumps(EVENT).encode(), "application/json", "event_callback"),
    (json.dumps(EVENT).encode(), "application/json; charset=utf-8", "event_callback"),
    (json.dumps(payloads.url_verification("c")).encode(), "application/json", "url_verification"),
    (b"ssl_check=1&token=x", FORM, "ssl_check"),
])
def test_what_slack_sends_goes_on(raw, content_type, kind):
    parsed = slack_payload.parse(raw, content_type)
    assert slack_payload.check(parsed) == kind


def test_a_slash_command_saying_payload_is_read_as_a_command():
    # Bolt's own parser reads any form containing "payload" as an (absent) interactive payload.
    parsed = slack_payload.parse(urlencode(payloads.slash_command("/ai-approve", "payload")).encode(), FORM)
    assert parsed.form and parsed.body["text"] == "payload"


def test_the_catalogue_is_what_the_surfaces_register():
    known = handlers.listened_to()
    assert ("command", "/ai-approve") in known
    assert ("action", "approval_approve") in known
    assert ("view", "incident_new") in known
    assert ("shortcut", "report_ai_incident") in known
    assert ("event", "app_home_opened") in known
    assert known.label("action", "approval_checklist-3") == "action:approval_checklist"
    assert known.label("action", "home_page_next_records") == "action:home_page"
    assert known.label("action", "x" * 40) == "action:other"
    assert known.label("action", None) == "action:other"
    assert ("command", "/not-ours") not in known


def test_the_fallbacks_are_not_in_the_catalogue():
    # A catch-all there would label every request by its own content again.
    assert all(c.pattern != "" for names in handlers.listened_to().names.values()
               for c in names if isinstance(c, re.Pattern))


def test_a_registration_the_recorder_does_not_know_fails_loudly():
    with pytest.raises(AttributeError):
        catalogue.Recorder().message("hello")
    with pytest.raises(TypeError):
        catalogue.Recorder().action({"action_id": "x"})

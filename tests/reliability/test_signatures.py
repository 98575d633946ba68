"""Anything not signed by Slack with our secret, recently, over exactly this body → 401, and
nothing read, written or sent. One row per way of getting it wrong; each row is tried on a
slash command, an Events API delivery and a button click, against one bot."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from bot.slack_endpoint import UNVERIFIED_ANSWER
from tests.harness import payloads
from tests.harness.signing import SlackSigner
from tests.harness.server import SIGNING_SECRET
from tests.reliability import figures
from tests.reliability.hostile_bot import (  # noqa: F401  (module-scoped fixtures)
    Shot,
    hostile,
    module_bot_factory,
    module_database_url,
    module_db,
    module_fake,
)

pytestmark = pytest.mark.e2e

TS, SIG = "X-Slack-Request-Timestamp", "X-Slack-Signature"
GOOD = SlackSigner(SIGNING_SECRET)
OTHER = SlackSigner("not-" + SIGNING_SECRET)
# Slack: "more than five minutes" off is refused; half a minute past it leaves room for a slow run.
PAST_WINDOW = 5 * 60 + 30
# What the bot reads from Slack while starting, before any request.
STARTUP_READS = {"auth.test", "usergroups.users.list", "bots.info"}

Headers = list[tuple[str, str | bytes]]


@dataclass(frozen=True)
class Case:
    name: str
    headers: Callable[[bytes, int], Headers]  # (body, now) → the signature headers sent
    body: Callable[[bytes], bytes] = lambda body: body  # what is sent instead of the signed body
    status: int = 401


def signed(ts: int | str, signer: SlackSigner = GOOD, over: bytes | None = None) -> Callable[[bytes, int], Headers]:
    """Headers with timestamp `ts` (an int is an offset from now) signed over the body, or `over`."""
    def make(body: bytes, now: int) -> Headers:
        stamp = str(now + ts) if isinstance(ts, int) else ts
        return [(TS, stamp), (SIG, signer.signature(body if over is None else over, stamp))]
    return make


def fixed(*headers: tuple[str, str | bytes | Callable[[bytes, int], str]]) -> Callable[[bytes, int], Headers]:
    def make(body: bytes, now: int) -> Headers:
        return [(name, value(body, now) if callable(value) else value) for name, value in headers]
    return make


def good_sig(body: bytes, now: int) -> str:
    return GOOD.signature(body, now)


def good_hex(body: bytes, now: int) -> str:
    return good_sig(body, now).removeprefix("v0=")


def now_ts(body: bytes, now: int) -> str:
    return str(now)


CASES = [
    Case("valid", signed(0), status=200),
    Case("valid, header names in lower case", lambda b, n: [(k.lower(), v) for k, v in signed(0)(b, n)], status=200),
    Case("unsigned", fixed()),
    Case("forged: another secret", signed(0, OTHER)),
    Case("stale: more than 5 minutes old", signed(-PAST_WINDOW)),
    Case("stale: a day old", signed(-86400)),
    Case("future: more than 5 minutes ahead", signed(PAST_WINDOW)),
    Case("tampered body", signed(0), body=lambda body: body + b"&tampered=1"),
    Case("tampered body: one byte", signed(0), body=lambda body: body[:-1] + bytes([body[-1] ^ 1])),
    Case("tampered timestamp", lambda b, n: [(TS, str(n + 1)), (SIG, good_sig(b, n))]),
    Case("signed over another body", signed(0, over=b"token=x&command=%2Fai-approve&text=help")),
    Case("timestamp only", fixed((TS, now_ts))),
    Case("signature only", fixed((SIG, good_sig))),
    Case("empty timestamp", fixed((TS, ""), (SIG, good_sig))),
    Case("empty signature", fixed((TS, now_ts), (SIG, ""))),
    Case("both empty", fixed((TS, ""), (SIG, ""))),
    Case("non-numeric timestamp", signed("abc")),
    Case("float timestamp", lambda b, n: signed(f"{n}.5")(b, n)),
    Case("float timestamp, whole", lambda b, n: signed(f"{n}.0")(b, n)),
    Case("exponent timestamp", signed("1.7e9")),
    Case("negative timestamp", signed("-1")),
    Case("huge timestamp", signed("9" * 40)),
    Case("timestamp in Arabic-Indic digits", lambda b, n: [
        (TS, "".join(chr(0x660 + int(d)) for d in str(n)).encode()), (SIG, good_sig(b, n))]),
    Case("non-ASCII signature", fixed((TS, now_ts), (SIG, ("v0=" + "é" * 64).encode()))),
    Case("signature without v0=", fixed((TS, now_ts), (SIG, good_hex))),
    Case("signature with v1=", fixed((TS, now_ts), (SIG, lambda b, n: "v1=" + good_hex(b, n)))),
    Case("signature with V0=", fixed((TS, now_ts), (SIG, lambda b, n: "V0=" + good_hex(b, n)))),
    Case("signature in upper-case hex", fixed((TS, now_ts), (SIG, lambda b, n: "v0=" + good_hex(b, n).upper()))),
    Case("signature one digit short", fixed((TS, now_ts), (SIG, lambda b, n: good_sig(b, n)[:-1]))),
    Case("signature one digit long", fixed((TS, now_ts), (SIG, lambda b, n: good_sig(b, n) + "0"))),
    Case("signature not hex", fixed((TS, now_ts), (SIG, "v0=" + "z" * 64))),
    Case("signature with a trailing word", fixed((TS, now_ts), (SIG, lambda b, n: good_sig(b, n) + " x"))),
    Case("two signature headers, the good one first",
         lambda b, n: [(TS, str(n)), (SIG, good_sig(b, n)), (SIG, OTHER.signature(b, n))]),
    Case("two signature headers, the good one last",
         lambda b, n: [(TS, str(n)), (SIG, OTHER.signature(b, n)), (SIG, good_sig(b, n))]),
    Case("two timestamp headers, the signed one first",
         lambda b, n: [(TS, str(n)), (TS, str(n - PAST_WINDOW)), (SIG, good_sig(b, n))]),
    Case("two timestamp headers, the signed one last",
         lambda b, n: [(TS, str(n - PAST_WINDOW)), (TS, str(n)), (SIG, good_sig(b, n))]),
]


def body_of(kind: str, fake) -> tuple[bytes, str, str]:  # noqa: ANN001
    trigger_id = payloads.new_trigger_id()
    if kind == "command":
        fields = payloads.slash_command("/ai-approve", "help", trigger_id=trigger_id,
                                        response_url=fake.response_url(trigger_id))
        return urlencode(fields).encode(), "application/x-www-form-urlencoded", trigger_id
    if kind == "event":
        event = payloads.event_callback({"type": "app_home_opened", "user": "U0USER", "tab": "home"})
        return json.dumps(event).encode(), "application/json", trigger_id
    click = payloads.block_actions("approval_approve", "1:1", trigger_id=trigger_id,
                                   response_url=fake.response_url(trigger_id))
    return urlencode({"payload": json.dumps(click)}).encode(), "application/x-www-form-urlencoded", trigger_id


@pytest.mark.parametrize("kind", ["command", "event", "block_action"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_signature(hostile, request, tmp_path, case: Case, kind: str):  # noqa: ANN001
    body, content_type, trigger_id = body_of(kind, hostile.fake)
    with hostile.judging(request.node.name, tmp_path):
        calls_before = len(hostile.fake.calls)
        shot = Shot(kind, case.body(body), content_type, headers=case.headers(body, int(time.time())),
                    signed=False, trigger_id=trigger_id, must_refuse=case.status == 401, note=case.name)
        resp = hostile.fire(shot)
        figures.add({"signature cases": 1,
                     "signature cases not 401": int(case.status == 401 and resp.status_code != 401)})
        assert resp.status_code == case.status, f"{case.name}: {resp.status_code} {resp.text[:300]}"
        if case.status == 401:
            # Refused by our own check, before anything reads the body — not left to Bolt's
            # second look, which reads the headers its own way — with nothing about the product.
            assert resp.json() == UNVERIFIED_ANSWER, resp.text
            assert "Countersign" not in resp.text
            hostile.rows.settled()
            caused = [c.method for c in hostile.fake.calls[calls_before:] if c.method not in STARTUP_READS]
            assert caused == [], f"an unverifiable request made the bot call Slack: {caused}"
            assert not [k for k, _ in hostile.fake.responses if k == trigger_id], "it answered on the response_url"

"""Events API bodies, the HTTP API (/api/v1/gate with and without its token, garbage queries)
and raw bodies no Slack client sends — empty, not JSON, not an object, nested too deep, not
UTF-8, UTF-16, 1 MiB — against one bot; the invariants are hostile_bot's."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.harness import payloads
from tests.reliability.hostile_bot import (  # noqa: F401  (module-scoped fixtures)
    API_TOKEN,
    FUZZ_TIMEOUT,
    Shot,
    hostile,
    module_bot_factory,
    module_database_url,
    module_db,
    module_fake,
)
from tests.reliability.hostile_input import (
    FORM,
    JSON,
    REQUESTER,
    event_delivery,
    filled,
    form,
    hostile_text,
    seed_people,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(FUZZ_TIMEOUT)]
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def world(hostile):  # noqa: ANN001
    seed_people(hostile.fake)
    return hostile


def fuzz(world, request, tmp_path, strategy) -> None:  # noqa: ANN001
    @given(st.data())
    def run(data) -> None:  # noqa: ANN001
        world.fire(data.draw(strategy))

    with world.judging(request.node.name, tmp_path):
        run()


def test_events_api_bodies(world, request, tmp_path):  # noqa: ANN001
    fuzz(world, request, tmp_path, event_delivery())


AUTHORIZATIONS = (None, f"Bearer {API_TOKEN}", f"Bearer {API_TOKEN}", f"bearer {API_TOKEN}", "Bearer wrong",
                  "Bearer", f"Basic {API_TOKEN}", f"Bearer {API_TOKEN} extra", f"Bearer {API_TOKEN}x",
                  "Bearer " + "x" * 8000, b"Bearer \xff\xfe", f"Bearer {API_TOKEN[:-1]}")
RAW_QUERIES = ("", "ref", "ref=", "ref=%00", "ref=%ED%A0%80", "ref=%ff%fe", "&&&=", "ref=a&ref=b",
               "ref=" + "a" * 5000, "ref=%E2%80%AE1", "ref=<!channel>", "ref=https%3A%2F%2Fgithub.com%2Facme%2Fapp%2Fpull%2F1")


@st.composite
def api_request(draw) -> Shot:  # noqa: ANN001
    auth = draw(st.sampled_from(AUTHORIZATIONS))
    if draw(st.booleans()):
        query = draw(st.sampled_from(RAW_QUERIES))
    else:
        pairs = draw(st.lists(st.tuples(st.sampled_from(("ref", "ref", "REF", "x", "")), hostile_text), max_size=3))
        # Past 8 KiB a URL is refused by proxies (and the client) before it could reach the bot.
        query = form(pairs).decode()[:8192]
    method = draw(st.sampled_from(("GET", "GET", "GET", "POST", "PUT", "DELETE")))
    path = draw(st.sampled_from(("/api/v1/gate", "/api/v1/gate", "/api/v1/gate/", "/api/v1/nope", "/api/v1/")))
    headers = [] if auth is None else [("Authorization", auth)]
    valid = auth in (f"Bearer {API_TOKEN}", f"bearer {API_TOKEN}")
    return Shot("api", b"", None, headers=headers, method=method, path=f"{path}?{query}", signed=False,
                must_refuse=not valid, note=f"{method} with {str(auth)[:40]!r}")


def test_http_api(world, request, tmp_path):  # noqa: ANN001
    fuzz(world, request, tmp_path, api_request())


def _command_form(text: str) -> bytes:
    return form(payloads.slash_command("/ai-approve", text, user_id=REQUESTER))


def _event(event: object) -> bytes:
    body = payloads.event_callback({"type": "app_home_opened", "user": REQUESTER, "tab": "home"})
    body["event"] = event
    return json.dumps(body).encode()


def _payload(text: str) -> bytes:
    return form({"payload": text})


_HOME = json.dumps(payloads.event_callback({"type": "app_home_opened", "user": REQUESTER, "tab": "home"}))
# Slack's response_url is reachable; this placeholder becomes the fake's before sending, so a
# click the bot answers is answered where a test can see it.
RESPONSE_URL = "http://response-url.placeholder/x"
_CLICK = json.dumps(payloads.block_actions("approval_approve", "1:1", user_id=REQUESTER,
                                           response_url=RESPONSE_URL))

# name, body, content type, refused (nothing to act on: nothing may be written). The malformed
# shapes the boundary fix was for (payload a list, null, not JSON, nested 10,000 deep, empty
# actions, view as a string, no user, event not an object, invalid UTF-8, UTF-16) are rows of
# tests/reliability/test_boundary.py, and the fuzz above draws them too; these are the rest.
RAW = [
    ("empty form", b"", FORM, True),
    ("empty json", b"", JSON, True),
    ("only whitespace", b" \r\n\t ", FORM, True),
    ("payload string", _payload('"block_actions"'), FORM, True),
    ("payload number", _payload("1e999"), FORM, True),
    ("payload NaN", _payload("NaN"), FORM, True),
    ("payload nested 60 objects deep", _payload('{"a":' * 60 + "1" + "}" * 60), FORM, True),
    ("payload twice", form([("payload", _CLICK), ("payload", "[]")]), FORM, False),
    ("payload without type", _payload(json.dumps({"user": {"id": REQUESTER}})), FORM, True),
    ("payload of unknown type", _payload(json.dumps({"type": "x", "user": {"id": REQUESTER}})), FORM, True),
    ("ssl check", b"ssl_check=1&token=x", FORM, False),
    ("json string", b'"event_callback"', JSON, True),
    ("json not json", b"{", JSON, True),
    ("event a list", _event([]), JSON, True),
    ("event null", _event(None), JSON, True),
    ("invalid utf-8 form", b"command=%2Fai-approve&user_id=U0USER&text=\xff\xfe\xfd", FORM, True),
    ("invalid utf-8 json", b'{"type": "event_callback", "x": "\xff"}', JSON, True),
    ("utf-8 lone surrogate bytes", b'{"type": "event_callback", "x": "\xed\xa0\x80"}', JSON, True),
    ("utf-16-le json without BOM", _HOME.encode("utf-16-le"), JSON, True),
    ("utf-8 BOM json", b"\xef\xbb\xbf" + _HOME.encode(), JSON, False),
    ("json in a form content type", _HOME.encode(), FORM, False),
    ("form in a json content type", _command_form("help"), JSON, True),
    ("no content type, json", _HOME.encode(), None, False),
    ("text/plain", _HOME.encode(), "text/plain", False),
    ("multipart garbage", b"--x\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n[]\r\n--x--",
     "multipart/form-data; boundary=x", True),
    ("command text 1 MiB", _command_form("code https://x " + "x" * MiB), FORM, False),
    ("command text 1 MiB of markup", _command_form(filled(MiB, "<!channel>")), FORM, False),
    ("payload 1 MiB value", _payload(json.dumps({**json.loads(_CLICK), "pad": "x" * MiB})), FORM, False),
    ("1 MiB of NUL", b"\x00" * MiB, FORM, True),
    ("1 MiB of form fields", b"&".join(b"k%d=v" % i for i in range(120_000)), FORM, True),
]


@pytest.mark.parametrize(("body", "content_type", "refused"), [r[1:] for r in RAW], ids=[r[0] for r in RAW])
def test_raw_bodies(world, request, tmp_path, body, content_type, refused):  # noqa: ANN001
    reachable = json.dumps(world.fake.response_url("raw"))[1:-1]
    body = body.replace(form({"": RESPONSE_URL})[1:], form({"": reachable})[1:])
    with world.judging(request.node.name, tmp_path):
        world.fire(Shot("raw", body, content_type, must_refuse=refused, note=request.node.callspec.id))

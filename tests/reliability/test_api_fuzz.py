"""Schemathesis against the running bot and the description it publishes (GET
/api/v1/openapi.json): every generated request, sent with a valid bearer token (a stored one
holding every scope) and again without one, gets no 5xx and an answer exactly as the document
describes (status code, headers, content type, body), and the API rejects what the document
says is invalid. Schemathesis has no reader for NDJSON, so each line of the audit events is
checked against the document's AuditEvent here.

How many examples, and whether they are the same on every run, is the suite's Hypothesis
profile (tests/reliability/conftest.py): "ci", the default, is derandomized and bounded, so CI
sends the same requests every run; "nightly" draws many more, fresh ones."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from bot.api import openapi_document
from services import audit, tokens
from services.audit_log import sealer
from tests.harness.server import SIGNING_SECRET, BotProcess
from tests.harness.signing import SignedSlackClient

pytestmark = pytest.mark.e2e

TOKEN = "fuzz-token-0123456789abcdef"  # API_TOKENS: scope gate only
# The stored token holding every scope, made afresh for each bot (tokens are random).
AUTHORIZED: dict[str, str] = {}
# The document's example ref: a real request exists for it, so generated cases reach the
# answer about a request too, not only "never requested".
SIGNED_REF = openapi_document()["paths"]["/api/v1/gate"]["get"]["parameters"][0]["example"]


# LiteLLM's StandardLoggingPayload is LiteLLM's to define: the document names the fields read
# and no more, so a record it admits may still be one that cannot be kept (an endTime before
# its startTime, a name of 500 characters). Such a record is answered 400 naming the record and
# field; every other check (no 5xx, invalid bodies refused, answers as described) still holds.
LOOSELY_DESCRIBED = {"POST /api/v1/ingest/litellm"}


def fuzz_config() -> SchemathesisConfig:
    config = SchemathesisConfig()
    # Examples remembered between runs would make CI's requests depend on the machine's past.
    # Query parameters the document does not define are ignored, as HTTP APIs commonly do; the
    # document promises no rejection of them, so none are sent expecting one.
    config.projects.default.generation.update(database="none", allow_extra_parameters=False)
    return config


# NDJSON bodies (LiteLLM's) are text on the wire: sent as generated, whatever it holds.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

# The same document the server publishes (test_the_server_publishes_this_document proves it),
# loaded at import: schemathesis' lazy loader (from_fixture) does not run on pytest 9.
schema = schemathesis.openapi.from_dict(openapi_document(), config=fuzz_config())
AUDIT_EVENT = Draft202012Validator({"$ref": "#/components/schemas/AuditEvent",
                                    "components": openapi_document()["components"]})


@dataclass
class Tally:
    requests: int = 0
    with_token: int = 0
    server_errors: int = 0
    violations: int = 0
    ndjson_lines: int = 0
    statuses: Counter = field(default_factory=Counter)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    counts = Tally()
    yield counts
    answers = ", ".join(f"{n}× {code}" for code, n in sorted(counts.statuses.items()))
    print(f"\nHTTP API fuzzing: {counts.requests} requests fuzzed ({counts.with_token} with a valid token; "
          f"answers {answers}; {counts.ndjson_lines} NDJSON event lines checked); "
          f"{counts.server_errors} 5xx, {counts.violations} schema violations")
    # A fuzzer that never reached an answer cannot have checked it.
    assert {200, 304, 400, 401} <= set(counts.statuses), counts.statuses
    assert counts.ndjson_lines > 0


def seed_sealed_log(db) -> None:  # noqa: ANN001
    """Sealed events (some with payloads of every JSON kind) and a checkpoint, so the audit
    routes answer with content; written before the bot starts, whose clock seals after."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with db.session() as s:
        AUTHORIZED["Authorization"] = "Bearer " + tokens.create(
            s, name="fuzz-all", scopes=tokens.SCOPES, now=at, actor="cli:fuzz")
        for i in range(30):
            audit.append(s, at=at, actor=f"U0FUZZ{i % 3}", action=("approval.requested", "incident.opened")[i % 2],
                         entity_type=("approval_request", "incident")[i % 2], entity_id=str(i),
                         payload={"i": i, "text": "«x» <y> & \u2028", "none": None, "list": [True, {"n": -i}]})
    with db.session() as s:
        sealer.seal_batch(s, now=at)
    with db.session() as s:
        sealer.checkpoint(s, now=at, signer=None, origin="countersign/fuzz", interval=None)


@pytest.fixture
def api_bot(bot_factory, fake_slack, db) -> BotProcess:  # noqa: ANN001
    seed_sealed_log(db)
    bot = bot_factory(API_TOKENS=f"fuzz={TOKEN}").start()
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        assert slack.command("/ai-approve", f"code {SIGNED_REF} Fuzzed gate", user_id="U0DEV").status_code == 200
    fake_slack._poll(lambda: [1] if gate(bot, SIGNED_REF).json()["status"] == "pending" else [], 1, 30,
                     "the sign-off request behind the example ref")
    return bot


def gate(bot: BotProcess, ref: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{bot.url}/api/v1/gate", params={"ref": ref}, headers={**AUTHORIZED, **headers})


def call_and_count(case, bot: BotProcess, headers: dict, tally: Tally):  # noqa: ANN001
    """Send the case (with `headers` over what was generated) and check the answer."""
    excluded = []
    if "Authorization" in headers and auth_was_negated(case):
        # The generated case was invalid only in its credentials, which the valid token replaced:
        # it is a valid request now, and may be accepted.
        excluded.append(negative_data_rejection)
    if case.operation.label in LOOSELY_DESCRIBED:
        excluded.append(positive_data_acceptance)
    response = case.call(base_url=bot.url, headers=headers, timeout=10)
    tally.requests += 1
    tally.with_token += "Authorization" in headers
    tally.server_errors += response.status_code >= 500
    tally.statuses[response.status_code] += 1
    try:
        case.validate_response(response, headers=headers, transport_kwargs={"base_url": bot.url},
                               excluded_checks=excluded)
    except FailureGroup as failures:
        tally.violations += len(failures.exceptions)
        raise
    if response.status_code == 200 and header(response, "content-type") == "application/x-ndjson":
        lines = response.text.splitlines()
        problems = [f"line {n}: {error.message}" for n, line in enumerate(lines, 1)
                    for error in AUDIT_EVENT.iter_errors(json.loads(line))]
        tally.ndjson_lines += len(lines)
        tally.violations += len(problems)
        assert response.text == "" or response.text.endswith("\n")
        assert problems == [], problems
    return response


def header(response, name: str) -> str | None:  # noqa: ANN001
    """One header of a schemathesis response, whose headers map each name to its values."""
    values = {k.lower(): v for k, v in response.headers.items()}.get(name)
    return values[0] if values else None


def auth_was_negated(case) -> bool:  # noqa: ANN001
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    return header is not None and header.mode.is_negative


def test_the_server_publishes_this_document(api_bot):  # noqa: ANN001
    published = httpx.get(f"{api_bot.url}/api/v1/openapi.json")
    assert published.status_code == 200 and published.headers["content-type"] == "application/json"
    assert published.json() == openapi_document()


@schema.parametrize()
# One server answers every generated request: that is the point, not an accident of scope.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_matches_the_published_description(case, api_bot, tally):  # noqa: ANN001
    for headers in (AUTHORIZED, {}):
        call_and_count(case, api_bot, headers, tally)


def test_the_answers_random_input_reaches_only_by_luck_match_too(api_bot, tally):  # noqa: ANN001
    """An answer about a real request and the 304 for its ETag; references at the edges of what
    the gate takes (NUL made PostgreSQL fail the lookup, a 500). Checked against the document."""
    operation = schema["/api/v1/gate"]["GET"]
    answer = call_and_count(operation.Case(query={"ref": SIGNED_REF}), api_bot, AUTHORIZED, tally)
    assert answer.status_code == 200 and answer.json()["status"] == "pending"
    [etag] = {k.lower(): v for k, v in answer.headers.items()}["etag"]  # schemathesis: name → values
    again = call_and_count(operation.Case(query={"ref": SIGNED_REF}, headers={"If-None-Match": etag}),
                           api_bot, AUTHORIZED, tally)
    assert again.status_code == 304
    for ref, status in [(f"  {SIGNED_REF}\t", 200), ("x" * 500, 200), ("x" * 501, 400), (" \u3000 ", 400),
                        ("pull/42\x00", 400), ("pull\x1f42", 400), ("pull\x8542", 400)]:
        edge = call_and_count(operation.Case(query={"ref": ref}), api_bot, AUTHORIZED, tally)
        assert edge.status_code == status, (ref, edge.status_code, edge.text)


def test_the_audit_answers_at_the_edges_match_too(api_bot, tally):  # noqa: ANN001
    """The bounds of every audit parameter, a page that has a next one, the checkpoint, and the
    403 a token without the scope gets: each answer checked against the document."""
    events = schema["/api/v1/audit/events"]["GET"]
    for query, status in [({"limit": "1"}, 200), ({"limit": "10000"}, 200), ({"limit": "10001"}, 400),
                          ({"after_seq": "2147483647"}, 200), ({"after_seq": "2147483648"}, 400),
                          ({"since": "2028-02-29"}, 200), ({"since": "2027-02-29"}, 400),
                          ({"since": "0001-01-01T00:00+01:00"}, 200), ({"until": "9999-12-31T23:59-01:00"}, 200),
                          ({"action": ["approval.*", "incident.opened,token.*"]}, 200), ({"entity": "request:1"}, 200),
                          ({"actor": "U0\x00"}, 400), ({"entity": "x:" + "y" * 199}, 400)]:
        answer = call_and_count(events.Case(query=query), api_bot, AUTHORIZED, tally)
        assert answer.status_code == status, (query, answer.status_code, answer.text)
    page = call_and_count(events.Case(query={"limit": "7"}), api_bot, AUTHORIZED, tally)
    assert len(page.text.splitlines()) == 7 and header(page, "x-next-after-seq") == "6"
    assert header(page, "link") == '</api/v1/audit/events?limit=7&after_seq=6>; rel="next"'
    checkpoint = schema["/api/v1/audit/checkpoint"]["GET"]
    latest = call_and_count(checkpoint.Case(), api_bot, AUTHORIZED, tally)
    assert latest.status_code == 200 and latest.json()["size"] == 31
    gate_only = {"Authorization": f"Bearer {TOKEN}"}
    for operation in (events, checkpoint):
        assert call_and_count(operation.Case(), api_bot, gate_only, tally).status_code == 403

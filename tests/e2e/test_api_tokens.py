"""Scoped tokens over the running bot's HTTP API: each route needs its scope (401 without a valid
token, 403 naming the scope), a revoked token stops working on its next request, API_TOKENS
still answer the gate and nothing else; and the audit endpoints serve the sealed log — NDJSON
in seq order, paged by after_seq, filtered — and its latest checkpoint.

Events are written as every writer writes them (services.audit.append) and sealed by the
sequencer itself (services.audit_log.sealer); the bot runs without its clock (CLOCK_IN_WEB=false)
so that only the test seals, when it means to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from models.api_token import ApiToken
from models.audit import AuditEvent
from services import audit, tokens
from services.audit_log import sealer
from services.audit_log.notes import NoteSigner
from services.audit_log.query import event_record
from tests.harness.server import BotProcess

CI_TOKEN = "ci-token-0123456789abcdef"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GATE, EVENTS, CHECKPOINT = "/api/v1/gate?ref=pull/1", "/api/v1/audit/events", "/api/v1/audit/checkpoint"
ROUTES = (GATE, EVENTS, CHECKPOINT)


@dataclass
class Api:
    bot: BotProcess
    tokens: dict[str, str]

    def get(self, path: str, token: str | None = None, **params) -> httpx.Response:  # noqa: ANN003
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.bot.url}{path}", params=params or None, headers=headers, timeout=30)


@pytest.fixture
def api(bot_factory, db) -> Api:  # noqa: ANN001
    made = {}
    with db.session() as s:
        for name, scopes in (("gate-only", "gate"), ("audit-only", "audit"),
                             ("ingest-only", "ingest"), ("everything", "gate,audit,ingest")):
            made[name] = tokens.create(s, name=name, scopes=scopes, now=T0, actor="cli:test")
    made["ci"] = CI_TOKEN
    bot = bot_factory(API_TOKENS=f"ci={CI_TOKEN}", CLOCK_IN_WEB="false").start()
    return Api(bot, made)


def seal_all(db, now: datetime = T0) -> None:  # noqa: ANN001
    while True:
        with db.session() as s:
            if not sealer.seal_batch(s, now=now).records:
                return


def write_checkpoint(db, signer: NoteSigner | None = None, now: datetime = T0):  # noqa: ANN001, ANN201
    with db.session() as s:
        cp = sealer.checkpoint(s, now=now, signer=signer, origin="countersign/test", interval=None)
        return cp.size, cp.root_hash, cp.note


def append(db, events: list[dict]) -> None:  # noqa: ANN001
    with db.session() as s:
        for e in events:
            audit.append(s, **{"at": T0, "actor": "U0DEV", "payload": {}, **e})


def sealed_records(db) -> list[dict]:  # noqa: ANN001
    with db.session() as s:
        return [event_record(e) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq))]


def ndjson(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text == "" or response.text.endswith("\n")
    # ASCII: no line holds a character (U+2028, NEL) that other line readers split at.
    assert response.text.isascii()
    return [json.loads(line) for line in response.text.split("\n")[:-1]]


# (token, route) → status; checkpoint is 404 while none was written.
EXPECTED = {
    None: (401, 401, 401),
    "nobody": (401, 401, 401),
    "gate-only": (200, 403, 403),
    "audit-only": (403, 200, 404),
    "ingest-only": (403, 403, 403),
    "everything": (200, 200, 404),
    "ci": (200, 403, 403),
}


def test_every_route_needs_its_scope(api):
    for who, statuses in EXPECTED.items():
        token = api.tokens.get(who, "cs_" + "x" * 43) if who else None
        for route, status in zip(ROUTES, statuses):
            answer = api.get(route, token)
            assert answer.status_code == status, (who, route, answer.text)
            if status == 401:
                assert answer.headers["www-authenticate"] == "Bearer"
                assert "bearer token" in answer.json()["error"]
            if status == 403:
                scope = "gate" if route == GATE else "audit"
                assert answer.headers["www-authenticate"] == (
                    f'Bearer error="insufficient_scope", scope="{scope}"')
                error = answer.json()["error"]
                assert f"lacks the scope {scope}" in error and f"--scope {scope}" in error
                if who == "ci":
                    assert "API_TOKENS have the scope gate only" in error
    assert api.get(CHECKPOINT, api.tokens["audit-only"]).json() == {
        "error": "no checkpoint yet: the log writes its first one once events have been sealed"}
    api.bot.stop()  # its shutdown lines too
    output = api.bot.output()
    assert "GET /api/v1/audit/events 403" in output and "GET /api/v1/gate 401" in output
    assert [who for who, token in api.tokens.items() if token in output] == []


def test_api_tokens_answer_the_gate_as_before(api):
    answer = api.get(GATE, CI_TOKEN)
    assert answer.status_code == 200 and answer.json()["status"] == "not_requested"
    assert api.get(GATE, f"{CI_TOKEN}x").status_code == 401
    lines = api.bot.wait_for_log(lambda r: "gate pull/1 asked by ci" in r.get("message", ""),
                                 what="the gate's log line naming the API_TOKENS caller")
    assert lines


def test_a_revoked_token_is_refused_from_its_next_request(api, db):
    token = api.tokens["everything"]
    assert api.get(EVENTS, token).status_code == 200
    with db.session() as s:
        [used] = s.scalars(select(ApiToken.last_used_at).where(ApiToken.name == "everything")).all()
        tokens.revoke(s, name="everything", now=T0, actor="cli:test")
    assert used is not None and abs(used - datetime.now(UTC)) < timedelta(minutes=5)
    for route in ROUTES:
        refused = api.get(route, token)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert api.get(EVENTS, api.tokens["audit-only"]).status_code == 200


def test_events_are_the_sealed_log_in_seq_order_paged_by_after_seq(api, db):
    append(db, [{"action": "approval.requested", "entity_type": "approval_request",
                 "entity_id": str(i), "payload": {"title": f"Request «{i}»\u2028", "n": i}}
                for i in range(20)])
    seal_all(db)
    append(db, [{"action": "approval.approved", "entity_type": "approval_request",
                 "entity_id": "1"}])  # committed, not sealed: not served yet
    expected = sealed_records(db)
    assert [r["seq"] for r in expected] == list(range(24))  # the 4 token.created events first
    token = api.tokens["audit-only"]

    everything = ndjson(api.get(EVENTS, token))
    assert everything == expected
    assert "approval.approved" not in {r["action"] for r in everything}

    pages, after, url = [], None, f"{EVENTS}?limit=7"
    while url is not None:
        answer = api.get(url, token)
        pages.append(ndjson(answer))
        after = int(answer.headers["x-next-after-seq"])
        assert after == pages[-1][-1]["seq"]
        link = answer.headers.get("link")
        url = link[1:link.index(">")] if link else None
    assert [len(p) for p in pages] == [7, 7, 7, 3]
    assert [r for p in pages for r in p] == expected
    assert after == 23

    # A SIEM that caught up asks again from where it stopped: nothing, and the same cursor.
    caught_up = api.get(EVENTS, token, after_seq="23")
    assert ndjson(caught_up) == [] and caught_up.headers["x-next-after-seq"] == "23"
    assert "link" not in caught_up.headers
    seal_all(db)
    [late] = ndjson(api.get(EVENTS, token, after_seq="23"))
    assert (late["seq"], late["action"]) == (24, "approval.approved")


def test_a_long_answer_is_streamed_whole_and_in_order(api, db):
    append(db, [{"action": "usage.recorded", "entity_type": "usecase", "entity_id": str(i % 7),
                 "payload": {"i": i, "note": "x" * 200}} for i in range(2300)])
    seal_all(db)
    answer = api.get(EVENTS, api.tokens["everything"], limit="10000", action="usage.*")
    records = ndjson(answer)
    assert [r["payload"]["i"] for r in records] == list(range(2300))
    assert [r["seq"] for r in records] == list(range(4, 2304))
    assert answer.headers["x-next-after-seq"] == "2303" and "link" not in answer.headers
    first = api.get(EVENTS, api.tokens["everything"], limit="1000", action="usage.*")
    assert len(ndjson(first)) == 1000 and first.headers["x-next-after-seq"] == "1003"
    assert first.headers["link"] == '</api/v1/audit/events?limit=1000&action=usage.%2A&after_seq=1003>; rel="next"'


def test_events_are_filtered_by_time_action_actor_and_entity(api, db):
    now = datetime.now(UTC)
    append(db, [
        {"action": "approval.requested", "entity_type": "approval_request", "entity_id": "42",
         "at": now - timedelta(days=10)},
        {"action": "approval.approved", "entity_type": "approval_request", "entity_id": "42",
         "actor": "U0REV", "at": now - timedelta(hours=2)},
        {"action": "incident.opened", "entity_type": "incident", "entity_id": "7",
         "at": now - timedelta(hours=1)},
        {"action": "usecase.created", "entity_type": "usecase", "entity_id": "3",
         "at": datetime(2026, 11, 1, 12, tzinfo=UTC)},
    ])
    seal_all(db)
    token = api.tokens["audit-only"]

    def actions(**params: str) -> list[str]:
        return [r["action"] for r in ndjson(api.get(EVENTS, token, **params))]

    assert actions(action="approval.*") == ["approval.requested", "approval.approved"]
    assert actions(action="incident.opened,usecase.created") == ["incident.opened", "usecase.created"]
    assert [r["action"] for r in ndjson(api.get(
        f"{EVENTS}?action=token.*&action=incident.opened", token))][-1] == "incident.opened"
    assert actions(actor="U0REV") == ["approval.approved"]
    assert actions(entity="request:42") == ["approval.requested", "approval.approved"]
    assert actions(entity="token:siem") == []
    assert actions(entity="token:gate-only") == ["token.created"]
    assert actions(since="7d", action="approval.*,incident.*") == ["approval.approved", "incident.opened"]
    assert actions(since="90m", until="30m") == ["incident.opened"]
    assert actions(since="2026-11-01", until="2026-11-01T12:00:00.000001Z") == ["usecase.created"]
    assert actions(since="2026-11-01T13:00+02:00", until="2026-11-02") == ["usecase.created"]
    assert actions(since="2026-11-01T12:00:01Z", until="2026-11-02") == []


@pytest.mark.parametrize("params, message", [
    ({"since": "yesterday"}, "since: expected a duration back from now like 30m, 12h, 7d or 2w, or an "
                             "ISO 8601 date or date-time like 2026-11-01 or 2026-11-01T09:30:00Z; got 'yesterday'"),
    ({"until": "2026-02-30"}, "until: expected a duration back from now"),
    ({"limit": "0"}, "limit: expected a whole number from 1 to 10000; got '0'"),
    ({"limit": "20000"}, "limit: expected a whole number from 1 to 10000; got '20000'"),
    ({"after_seq": "-1"}, "after_seq: expected a whole number from 0 to 2147483647; got '-1'"),
    ({"action": "Approval.*"}, "action: expected action names like approval.approved or prefixes like "
                               "approval.*, repeated or separated by commas; got 'Approval.*'"),
    ({"entity": "request"}, "entity: expected KIND:ID like request:42 or incident:7"),
    ({"actor": "U0\x00"}, "actor: expected who acted"),
])
def test_bad_parameters_are_a_400_naming_the_parameter(api, params, message):
    answer = api.get(EVENTS, api.tokens["audit-only"], **params)
    assert answer.status_code == 400 and answer.json()["error"].startswith(message), answer.text


def test_the_checkpoint_is_the_latest_tree_head(api, db):
    token = api.tokens["audit-only"]
    assert api.get(CHECKPOINT, token).status_code == 404
    seal_all(db)
    size, root, note = write_checkpoint(db)
    first = api.get(CHECKPOINT, token)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json() == {"size": size, "root_hash": root, "at": "2026-03-02T09:00:00.000000Z",
                            "note": note, "key_name": None, "key_id": None, "signed": False,
                            "witnessed_at": None}
    assert size == 4 and note.startswith(f"countersign/test\n{size}\n")

    append(db, [{"action": "approval.requested", "entity_type": "approval_request", "entity_id": "1"}])
    seal_all(db)
    signer = NoteSigner("countersign/test", Ed25519PrivateKey.generate())
    size, root, note = write_checkpoint(db, signer, now=T0 + timedelta(hours=1))
    latest = api.get(CHECKPOINT, token).json()
    assert latest == {"size": size, "root_hash": root, "at": "2026-03-02T10:00:00.000000Z",
                      "note": note, "key_name": "countersign/test", "key_id": signer.key_id.hex(),
                      "signed": True, "witnessed_at": None}
    assert size == 6 and "\n\u2014 countersign/test " in note  # the first one recorded itself


def test_a_proof_from_the_api_checks_offline_against_the_signed_checkpoint(api, db):
    from services.audit_log import proofs

    token = api.tokens["audit-only"]
    append(db, [{"action": "approval.requested", "entity_type": "approval_request",
                 "entity_id": str(i)} for i in range(5)])
    seal_all(db)
    seq = next(r["seq"] for r in sealed_records(db)
               if r["entity_type"] == "approval_request" and r["entity_id"] == "2")
    assert api.get("/api/v1/audit/proof", token, seq=str(seq)).status_code == 404  # no checkpoint
    signer = NoteSigner("countersign/test", Ed25519PrivateKey.generate())
    size, _, _ = write_checkpoint(db, signer)
    answer = api.get("/api/v1/audit/proof", token, seq=str(seq))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    doc = answer.json()
    assert doc["tree_size"] == size and doc["event"]["entity_id"] == "2"
    assert proofs.check_proof(doc, signer.verifier()).startswith(f"OK: seq {seq} is in the log")
    doc["event"]["actor"] = "U_FORGED"
    with pytest.raises(proofs.ProofError):
        proofs.check_proof(doc, signer.verifier())
    assert api.get("/api/v1/audit/proof", token, seq=str(size + 5)).status_code == 404
    assert api.get("/api/v1/audit/proof", token, seq="abc").status_code == 400
    assert api.get("/api/v1/audit/proof", token).status_code == 400
    assert api.get("/api/v1/audit/proof", api.tokens["gate-only"], seq="2").status_code == 403

"""The native batch API and LiteLLM's logging callback over the running bot: per-event errors by
index and field with the good events kept, idempotency by the client's event id, scopes."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from models.usage import UsageEvent
from tests.e2e.usage_support import made_tokens


pytestmark = pytest.mark.e2e


@pytest.fixture
def ingest(bot_factory, db):  # noqa: ANN001, ANN201
    made = made_tokens(db, "ingest", "audit")
    return bot_factory(CLOCK_IN_WEB="false").start(), made


def stored(db) -> list[UsageEvent]:  # noqa: ANN001
    with db.session() as s:
        return list(s.scalars(select(UsageEvent).order_by(UsageEvent.key)))


def event(n: int, **extra) -> dict:  # noqa: ANN003
    return {"id": f"evt-{n}", "started_at": "2026-12-01T09:00:00Z", "model": "gpt-4o",
            "provider": "openai", "service": "copy-writer", "user": "U0BOB", **extra}


def test_native_batch_keeps_good_events_and_names_bad_ones(ingest, db) -> None:  # noqa: ANN001
    bot, made = ingest
    body = {"events": [
        event(1, input=[{"role": "user", "content": "call me on +44 20 7946 0958"}],
              output="Sure.", input_tokens=12, output_tokens=3, cost_usd=0.0004,
              use_case="UC-3"),
        event(2, started_at="2026-12-01T09:00:00"),  # no zone
        event(3, input_tokens=-1, colour="blue"),
        event(4),
    ]}
    answer = httpx.post(f"{bot.url}/api/v1/ai-events", json=body, timeout=30,
                        headers={"Authorization": f"Bearer {made['ingest']}"})
    assert answer.status_code == 400
    got = answer.json()
    assert (got["accepted"], got["rejected"]) == (2, 2)
    assert sorted((e["index"], e["field"]) for e in got["errors"]) == [
        (1, "started_at"), (2, "colour"), (2, "input_tokens")]
    kept = stored(db)
    assert [e.key for e in kept] == ["native:evt-1", "native:evt-4"]
    first = kept[0]
    assert (first.source, first.model, first.use_case, first.cost_usd) == (
        "native", "gpt-4o", "UC-3", 0.0004)
    assert "7946" not in first.input_text and first.redactions == {"phone": 1}
    assert first.output_text == "Sure."


def test_native_batch_is_idempotent_and_scoped(ingest, db) -> None:  # noqa: ANN001
    bot, made = ingest
    url = f"{bot.url}/api/v1/ai-events"
    body = {"events": [event(n) for n in range(5)]}
    first = httpx.post(url, json=body, headers={"Authorization": f"Bearer {made['ingest']}"},
                       timeout=30)
    assert first.json() == {"accepted": 5, "duplicates": 0, "rejected": 0}
    again = httpx.post(url, json=body, headers={"Authorization": f"Bearer {made['ingest']}"},
                       timeout=30)
    assert again.json() == {"accepted": 0, "duplicates": 5, "rejected": 0}
    assert len(stored(db)) == 5
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    denied = httpx.post(url, json=body, headers={"Authorization": f"Bearer {made['audit']}"},
                        timeout=30)
    assert denied.status_code == 403 and "ingest" in denied.json()["error"]
    too_many = httpx.post(url, json={"events": [event(n) for n in range(1001)]}, timeout=30,
                          headers={"Authorization": f"Bearer {made['ingest']}"})
    assert too_many.status_code == 400 and "1000" in too_many.json()["error"]
    assert httpx.post(url, content=b"[1,", timeout=30, headers={
        "Authorization": f"Bearer {made['ingest']}",
        "Content-Type": "application/json"}).status_code == 400
    assert len(stored(db)) == 5


def litellm_record(n: int) -> dict:
    return {
        "id": f"chatcmpl-{n}", "call_type": "acompletion", "custom_llm_provider": "anthropic",
        "model": "claude-sonnet-4-20250514", "model_group": "claude-sonnet",
        "startTime": 1764579600.25, "endTime": 1764579601.5, "status": "success",
        "prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39, "response_cost": 0.00021,
        "messages": [{"role": "user", "content": "Draft a reply to sam@example.org"}],
        "response": {"choices": [{"message": {"role": "assistant", "content": "Hello Sam"}}]},
        "metadata": {"user_api_key_user_id": "U0CAROL", "user_api_key_team_alias": "support"},
        "request_tags": ["countersign.use_case:UC-7"],
    }


@pytest.mark.parametrize("shape", ["json_array", "ndjson", "single"])
def test_litellm_callback_shapes(ingest, db, shape) -> None:  # noqa: ANN001
    bot, made = ingest
    records = [litellm_record(1), litellm_record(2)] if shape != "single" else [litellm_record(1)]
    if shape == "json_array":
        body, kind = json.dumps(records), "application/json"
    elif shape == "ndjson":
        body, kind = "\n".join(json.dumps(r) for r in records) + "\n", "application/x-ndjson"
    else:
        body, kind = json.dumps(records[0]), "application/json"
    answer = httpx.post(f"{bot.url}/api/v1/ingest/litellm", content=body.encode(), timeout=30,
                        headers={"Authorization": f"Bearer {made['ingest']}",
                                 "Content-Type": kind})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(records)
    kept = stored(db)
    assert [e.key for e in kept] == [f"litellm:{r['id']}" for r in records]
    e = kept[0]
    assert (e.source, e.provider, e.request_model, e.user_id, e.team, e.use_case) == (
        "litellm", "anthropic", "claude-sonnet-4-20250514", "U0CAROL", "support", "UC-7")
    assert (e.operation, e.input_tokens, e.output_tokens) == ("chat", 30, 9)
    assert "sam@example.org" not in e.input_text and e.redactions == {"email": 1}
    assert e.output_text.endswith("Hello Sam")


def test_the_playbook_attributes_services_and_says_how_content_is_kept(bot_factory, db,  # noqa: ANN001
                                                                        tmp_path) -> None:
    from tests.harness.server import EXAMPLE_PLAYBOOK

    playbook = tmp_path / "usage-playbook.yaml"
    playbook.write_text(EXAMPLE_PLAYBOOK.read_text() + (
        "\nusage:\n  services: {support-bot: UC-12, 'copy-*': UC-3}\n"
        "  content: {default: digest, use_cases: {UC-3: full}}\n"))
    token = made_tokens(db, "ingest")["ingest"]
    bot = bot_factory(CLOCK_IN_WEB="false", PLAYBOOK_PATH=str(playbook)).start()
    prompt = "Write to jo@example.com"
    body = {"events": [event(1, service="support-bot", input=prompt),
                       event(2, service="copy-writer", input=prompt),
                       event(3, service="copy-writer", use_case="UC-9", input=prompt)]}
    answer = httpx.post(f"{bot.url}/api/v1/ai-events", json=body, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    kept = {e.key: e for e in stored(db)}
    support, copy, named = kept["native:evt-1"], kept["native:evt-2"], kept["native:evt-3"]
    assert (support.use_case, support.keep, support.input_text) == ("UC-12", "digest", None)
    assert support.input_digest == copy.input_digest == named.input_digest
    assert (copy.use_case, copy.keep, copy.input_text) == ("UC-3", "full", prompt)
    assert copy.redactions == {"email": 1}  # kept in full, and still counted
    # A use case the source names wins over the playbook's map.
    assert (named.use_case, named.keep, named.input_text) == ("UC-9", "digest", None)
    assert named.redactions == {"email": 1}


def test_without_worker_processes_batches_are_read_on_threads(bot_factory, db) -> None:  # noqa: ANN001
    token = made_tokens(db, "ingest")["ingest"]
    bot = bot_factory(CLOCK_IN_WEB="false", INGEST_PROCESSES="0").start()
    url, auth = f"{bot.url}/api/v1/ai-events", {"Authorization": f"Bearer {token}"}
    first = httpx.post(url, json={"events": [event(1), event(2, model="")]}, headers=auth,
                       timeout=30)
    assert first.status_code == 400 and first.json()["accepted"] == 1
    again = httpx.post(url, json={"events": [event(1)]}, headers=auth, timeout=30)
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": 0}
    assert [e.key for e in stored(db)] == ["native:evt-1"]


def test_concurrent_retries_of_one_batch_are_stored_once(ingest, db) -> None:  # noqa: ANN001
    import asyncio

    bot, made = ingest
    body = {"events": [event(n) for n in range(200)]}

    async def retries() -> list[dict]:
        async with httpx.AsyncClient(timeout=60) as http:
            answers = await asyncio.gather(*(
                http.post(f"{bot.url}/api/v1/ai-events", json=body,
                          headers={"Authorization": f"Bearer {made['ingest']}"})
                for _ in range(4)))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        return [a.json() for a in answers]

    answers = asyncio.run(retries())
    assert sum(a["accepted"] for a in answers) == 200
    assert sum(a["duplicates"] for a in answers) == 600
    assert len(stored(db)) == 200


def test_the_default_body_limit_is_twenty_mebibytes(bot_factory, db) -> None:  # noqa: ANN001
    token = made_tokens(db, "ingest")["ingest"]
    bot = bot_factory(CLOCK_IN_WEB="false").start()
    limit = 20 * 1024 * 1024
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    over = httpx.post(f"{bot.url}/api/v1/ai-events", content=b" " * (limit + 1), headers=headers,
                      timeout=60)
    assert over.status_code == 413 and f"({limit} bytes)" in over.json()["error"]
    padded = json.dumps({"events": [event(1)]}).encode()
    at_limit = padded + b" " * (limit - len(padded))  # JSON allows trailing whitespace
    assert httpx.post(f"{bot.url}/api/v1/ai-events", content=at_limit, headers=headers,
                      timeout=60).json()["accepted"] == 1

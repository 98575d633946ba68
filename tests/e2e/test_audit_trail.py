"""The audit trail through the running bot: real flows write events, the bot's own clock seals
them (one JSON log line each), checkpoints them signed, and witnesses them in the governance
channel; the CLI then verifies the log against that Slack copy, proves an event offline, and
names the seq of a rewrite."""

from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select, text

from models.audit import AuditCheckpoint, AuditEvent
from services.audit_log.keys import keygen
from tests.e2e.waiting import until
from tests.harness.server import SIGNING_SECRET, run_cli
from tests.harness.signing import SignedSlackClient

GOVERNANCE = "C05GOV1AIXP"
ORIGIN = "countersign.test/audit"
HOUR = 3600


@pytest.fixture
def key(tmp_path):
    private_pem, vkey = keygen(ORIGIN)
    path = tmp_path / "audit-key.pem"
    path.write_text(private_pem)
    return path, vkey


@pytest.fixture
def signed_bot(bot_factory, key, clock_file):
    return bot_factory(AUDIT_SIGNING_KEY=str(key[0]), AUDIT_LOG_ORIGIN=ORIGIN,
                       AUDIT_SEAL_INTERVAL="0.2", AUDIT_CHECKPOINT_INTERVAL="1h",
                       AUDIT_WITNESS_INTERVAL="1d", CLOCK_OFFSET_FILE=str(clock_file)).start()


def counts(db) -> tuple[int, int]:
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(AuditEvent))
        unsealed = s.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.seq.is_(None)))
    return total, unsealed


def sealed_everything(db, at_least: int) -> bool:
    total, unsealed = counts(db)
    return total >= at_least and unsealed == 0


def witnessed_notes(fake_slack) -> list[str]:
    """The notes in the governance channel's checkpoint posts, as someone copies them out."""
    notes = []
    for message in fake_slack.messages(GOVERNANCE):
        if message.get("text", "").startswith("Audit log checkpoint"):
            block = next(b for b in message["blocks"] if b["type"] == "section")
            notes.append(html.unescape(block["text"]["text"].strip("`")))
    return notes


def cli_env(database_url: str) -> dict[str, str]:
    import os
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AUDIT_"))} | {
        "DATABASE_URL": database_url, "AUDIT_LOG_ORIGIN": ORIGIN}


def test_the_bots_clock_seals_signs_and_witnesses_and_the_cli_verifies_against_slack(
        signed_bot, fake_slack, db, database_url, key, clock_file, tmp_path):
    _, vkey = key
    assert signed_bot.wait_for_log(lambda r: "audit checkpoints are signed by" in r.get("message", ""))
    with SignedSlackClient(signed_bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        for n in range(3):
            assert slack.command("/ai-approve", f"code https://git.example/pr/{n} change {n}",
                                 user_id="U0DEV").status_code == 200
    until(lambda: sealed_everything(db, 3), timeout=30, what="the clock sealed every event")

    # Each sealed event is one JSON line on the countersign.audit logger.
    lines = signed_bot.wait_for_log(lambda r: r.get("logger") == "countersign.audit"
                                    and "audit" in r, count=3)
    assert sorted(r["audit"]["seq"] for r in lines)[:3] == [0, 1, 2]
    assert {"leaf_hash", "action", "actor", "at", "entity_id"} <= set(lines[0]["audit"])

    # An hour after the log began, the first checkpoint is written and witnessed at once; then
    # one at least hourly while the log grows, witnessed daily.
    assert _checkpoints(db) == 0
    clock_file.write_text(str(HOUR + 60))
    until(lambda: len(witnessed_notes(fake_slack)) == 1, timeout=30, what="a witnessed checkpoint")
    first = witnessed_notes(fake_slack)[0]
    assert first.startswith(f"{ORIGIN}\n") and f"\n\n\u2014 {ORIGIN} " in first
    with SignedSlackClient(signed_bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        slack.command("/ai-approve", "code https://git.example/pr/9 one more", user_id="U0DEV")
    clock_file.write_text(str(2 * HOUR + 120))
    until(lambda: _checkpoints(db) >= 2, timeout=30, what="an hourly checkpoint")
    assert len(witnessed_notes(fake_slack)) == 1, "witnessed daily, not hourly"
    clock_file.write_text(str(26 * HOUR))
    with SignedSlackClient(signed_bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        slack.command("/ai-approve", "code https://git.example/pr/10 the next day", user_id="U0DEV")
    until(lambda: len(witnessed_notes(fake_slack)) == 2, timeout=30, what="the next day's witness")

    saved = tmp_path / "from-slack.txt"
    saved.write_text(first)
    env = cli_env(database_url)
    ok = run_cli(["audit", "verify", "--public-key", vkey, "--checkpoint", str(saved)], env,
                 tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.match(rf"OK: \d+ events, last checkpoint \d+ at .* signed by {re.escape(ORIGIN)}",
                    ok.stdout)
    assert "1 witnessed checkpoint(s) consistent" in ok.stdout

    proof = run_cli(["audit", "prove", "1"], env, tmp_path)
    assert proof.returncode == 0, proof.stderr
    (tmp_path / "proof.json").write_text(proof.stdout)
    checked = run_cli(["audit", "check-proof", str(tmp_path / "proof.json"), "--public-key", vkey],
                      env | {"DATABASE_URL": "sqlite:////nonexistent/none.db"}, tmp_path)
    assert checked.returncode == 0 and checked.stdout.startswith("OK: seq 1 is in the log"), checked
    doc = json.loads(proof.stdout)
    doc["event"]["actor"] = "U0FORGED"
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    forged = run_cli(["audit", "check-proof", str(tmp_path / "forged.json"), "--public-key", vkey],
                     env, tmp_path)
    assert forged.returncode == 1 and "FAILED" in forged.stdout

    sizes = _checkpoint_sizes(db)
    consistency = run_cli(["audit", "consistency", str(sizes[0]), str(sizes[-1])], env, tmp_path)
    assert consistency.returncode == 0, consistency.stderr
    assert json.loads(consistency.stdout)["consistency_proof"]

    # Someone with database access edits an approval's actor: named by seq and reason.
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_event SET actor = 'U0FORGED' WHERE seq = 1"))
    broken = run_cli(["audit", "verify", "--public-key", vkey], env, tmp_path)
    assert broken.returncode == 1
    assert broken.stdout.startswith("FAILED at seq 1: changed"), broken.stdout


def _checkpoints(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(AuditCheckpoint))


def _checkpoint_sizes(db) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(AuditCheckpoint.size).order_by(AuditCheckpoint.size)))


def test_without_a_key_the_bot_says_checkpoints_are_unsigned_and_verify_says_so(
        bot_factory, fake_slack, db, database_url, tmp_path):
    bot = bot_factory(AUDIT_SEAL_INTERVAL="0.2", AUDIT_CHECKPOINT_INTERVAL="1s").start()
    assert bot.wait_for_log(lambda r: "audit checkpoints are UNSIGNED" in r.get("message", "")
                            and r.get("level") == "WARNING")
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        slack.command("/ai-approve", "code https://git.example/pr/1 x", user_id="U0DEV")
    until(lambda: _checkpoints(db) >= 1 and sealed_everything(db, 2), timeout=30,
          what="an unsigned checkpoint")
    result = run_cli(["audit", "verify"], cli_env(database_url) | {"AUDIT_LOG_ORIGIN": "countersign/audit"},
                     tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(not signed)" in result.stdout
    assert "warning: checkpoints are unsigned" in result.stdout


def test_a_bad_signing_key_stops_the_bot_at_start_up_with_one_line(bot_factory, tmp_path):
    (tmp_path / "not-a-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n")
    bot = bot_factory(AUDIT_SIGNING_KEY=str(tmp_path / "not-a-key.pem"))
    with pytest.raises(Exception):
        bot.start(timeout=20)
    assert "AUDIT_SIGNING_KEY is not valid" in bot.output()
    assert "AAAA" not in bot.output()

"""The database unreachable for a while: /readyz says 503, every Slack request is answered
with an apology (a 2xx that explains, never a 500) in good time, nothing is half-written,
and service is normal once the database is back.

On PostgreSQL a TCP proxy between the bot and the server is cut and restored: either open
connections are reset and new ones refused, as when the server restarts or a firewall
rejects, or nothing gets through and nothing answers, as in a network partition. On SQLite the equivalent is another process holding the database's write lock (an
operator's `sqlite3` shell in a transaction, a backup tool): see the second test.
"""

import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import make_url
from sqlmodel import select

from models.approval import ApprovalRequest
from models.audit import AuditEvent
from models.inbound import InboundDelivery
from models.incident import Incident
from tests.conftest import PG_URL
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.harness.tcp_proxy import TcpProxy
from tests.reliability.workload import (
    ACK_BOUND,
    PLAYBOOK,
    Acks,
    approve,
    bot_settings,
    incident_title,
    knob,
    open_incident,
    open_signoff,
    outbox_rows,
    report,
    request_message,
    signoff_title,
    timeout,
    wait_settled,
)

# Shorter than the 30 s (that run is tests/soak/database_outage.sh): nothing in the bot
# measures how long the database has been gone — while it refuses, every path fails at once
# and the next request after it is back reconnects — so 8 s passes through the same states.
OUTAGE = knob("DB_OUTAGE_SECONDS", 8.0)
PACE = 0.25  # seconds between requests during the outage
APOLOGY = "Countersign cannot reach its database right now, so that did not work and nothing was changed."


def readyz(bot) -> int:  # noqa: ANN001
    try:
        return httpx.get(f"{bot.url}/readyz", timeout=10).status_code
    except httpx.HTTPError:
        return 0


def wait_ready(bot, fake, status: int, timeout: float) -> float:  # noqa: ANN001
    """Seconds until /readyz answers `status` (bounded)."""
    started = time.monotonic()
    fake._poll(lambda: [1] if readyz(bot) == status else [], 1, timeout, f"/readyz {status}")
    return time.monotonic() - started


@pytest.fixture
def proxied_database_url(database_url):  # noqa: ANN001
    if not PG_URL:
        pytest.skip("PostgreSQL only: a TCP proxy cuts the bot off; SQLite's equivalent is "
                    "test_sqlite_locked_by_another_process…")
    url = make_url(database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.mark.e2e
@pytest.mark.postgres
@timeout(120 + 2 * OUTAGE)
@pytest.mark.parametrize("blackhole", [False, True], ids=["refused", "blackholed"])
def test_postgres_unreachable_readyz_503_apologies_nothing_half_written_then_normal(
        blackhole, proxied_database_url, bot_factory, fake_slack, clock_file, db, tmp_path):
    proxy, url = proxied_database_url
    mode = "blackholed" if blackhole else "refused"
    bot = bot_factory(**bot_settings(DATABASE_URL=url, PLAYBOOK_PATH=str(PLAYBOOK),
                                     CLOCK_OFFSET_FILE=str(clock_file))).start()
    fake = fake_slack
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake) as slack:
        outage_scenario(bot, slack, fake, db, clock_file, cut=lambda: proxy.cut(blackhole=blackhole),
                        restore=proxy.restore,
                        figures=lambda f: report(tmp_path, f"database_outage[postgresql-{mode}]", f))


# Another process takes SQLite's write lock and keeps it until its stdin closes. Every
# transaction of the bot begins IMMEDIATE (bot/db.py), reads included, so it waits like a writer.
_LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


class SqliteLockHolder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None

    def cut(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _LOCK_HOLDER, self.path],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def restore(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


@pytest.mark.e2e
@timeout(120 + 2 * OUTAGE)
def test_sqlite_locked_by_another_process_readyz_503_apologies_nothing_half_written_then_normal(
        database_url, bot_factory, fake_slack, clock_file, db, tmp_path):
    if PG_URL:
        pytest.skip("SQLite only: on PostgreSQL the proxy test above cuts the database off")
    holder = SqliteLockHolder(make_url(database_url).database)
    bot = bot_factory(**bot_settings(PLAYBOOK_PATH=str(PLAYBOOK),
                                     CLOCK_OFFSET_FILE=str(clock_file))).start()
    try:
        with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
            outage_scenario(bot, slack, fake_slack, db, clock_file, cut=holder.cut, restore=holder.restore,
                            figures=lambda f: report(tmp_path, "database_outage[sqlite-locked]", f))
    finally:
        if holder.proc is not None and holder.proc.poll() is None:
            holder.proc.kill()


def outage_scenario(bot, slack, fake, db, clock_file, *, cut, restore, figures) -> None:  # noqa: ANN001
    """Drive the bot through an outage made by `cut()`/`restore()`, hand the figures to
    `figures`, then assert."""
    assert open_signoff(slack, 1).status_code == 200
    first = request_message(fake, 1)
    wait_settled(db, fake)
    assert readyz(bot) == 200

    cut()
    cut_at = time.monotonic()
    to_503 = wait_ready(bot, fake, 503, timeout=10)
    acks, commands, clicks = Acks(), [], 0
    n = 1
    while time.monotonic() - cut_at < OUTAGE:
        n += 1
        commands.append(acks.send(open_signoff, slack, n))
        commands.append(acks.send(open_incident, slack, n))
        acks.send(approve, slack, first)
        clicks += 1
        time.sleep(PACE)  # paces the requests over the outage; no timer is awaited
    restore()
    outage = time.monotonic() - cut_at
    to_ready = wait_ready(bot, fake, 200, timeout=30)
    answered = [r for r in commands if APOLOGY in (r.json() if r.content else {}).get("text", "")]
    apologies = [p for _, p in fake.responses if APOLOGY in p.get("text", "")]
    with db.session() as s:
        requests = s.exec(select(ApprovalRequest)).all()
        incidents = s.exec(select(Incident)).all()
        votes = s.exec(select(AuditEvent.action)).all().count("approval.voted")
    written = len(requests) - 1 + len(incidents) + votes
    figures({"outage_s": round(outage, 1), "readyz_503_after_s": round(to_503, 2),
             "ready_again_after_s": round(to_ready, 2), **acks.figures(),
             "commands_apologised": f"{len(answered)}/{len(commands)}",
             "clicks_apologised": f"{len(apologies)}/{clicks}", "written_by_refused": written})

    assert acks.statuses == [200] * len(acks.statuses), "a 2xx for every verified request"
    assert max(acks.latencies) < ACK_BOUND, acks.figures()
    # A slash command's answer is its ack; a click's goes to its response_url.
    assert len(answered) == len(commands), [r.text for r in commands]
    fake._poll(lambda: [p for _, p in fake.responses if APOLOGY in p.get("text", "")],
               clicks, 15, "an apology for every click")
    # Nothing half-written: nothing the outage's requests asked for, and no trace of them.
    assert [r.title for r in requests] == [signoff_title(1)] and requests[0].status == "pending"
    assert incidents == [] and votes == 0
    assert {r.key.split(":")[1] for r in outbox_rows(db)} == {"1"}

    # Normal service: the same requests, sent again, are taken and delivered.
    again = n + 1
    assert open_signoff(slack, again).status_code == 200
    assert open_incident(slack, again).status_code == 200
    approve(slack, first)
    request_message(fake, again)
    fake._poll(lambda: [1] if "[approved]" in next(
        m["text"] for m in fake.messages("C0APPROVE") if m["ts"] == first["ts"]) else [],
        1, 15, "the first sign-off approved")
    fake.wait_for(lambda c: c.method == "chat.postMessage"
                  and incident_title(again) in c.args.get("text", ""), timeout=15)
    rows = wait_settled(db, fake)
    assert all(r.status == "sent" for r in rows), [(r.key, r.status, r.last_error) for r in rows]

    # A claim the outage held until after its request was answered with an apology is
    # withdrawn, so nothing replays it: the bot's clock past every claim's lease (45 s), and
    # several redelivery sweeps (TIMER_SWEEP_INTERVAL, 0.2 s) pass with nothing done.
    clock_file.write_text(str(2 * 60))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        time.sleep(0.1)
    with db.session() as s:
        titles = sorted(r.title for r in s.exec(select(ApprovalRequest)).all())
        kept = s.exec(select(InboundDelivery.key).where(InboundDelivery.body.is_not(None))).all()
    assert titles == sorted([signoff_title(1), signoff_title(again)])
    assert kept == [], "no request kept for a replay once everything is settled"

"""A sequencer killed (SIGKILL) mid-batch leaves nothing half-sealed: the next resumes with no
gap and no double."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from audit_world import bulk, seal_all, signer, checkpoint, verify
from sqlalchemy import func, select

from models.audit import AuditEvent, AuditLogState

ROOT = Path(__file__).resolve().parents[3]

# The child seals in small batches, forever, as the clock does; it is killed from outside at
# whatever point it has reached, mid-transaction or between two.
CHILD = """
import sys
from datetime import UTC, datetime
from bot.db import Database, make_engine
from services.audit_log import sealer
db = Database(make_engine(sys.argv[1]))
print("sealing", flush=True)
while True:
    with db.session() as s:
        sealer.seal_batch(s, now=datetime.now(UTC), limit=5)
"""


def sealed(db) -> tuple[int, int, int]:
    with db.session() as s:
        count = s.scalar(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.seq.is_not(None)))
        top = s.scalar(select(func.max(AuditEvent.seq))) or -1
        return count, top, s.get(AuditLogState, 1).size


def test_a_sequencer_killed_mid_batch_resumes_with_no_gap_and_no_double(db, database_url):
    bulk(db, 20_000)
    kills = 0
    for _ in range(4):
        before = sealed(db)[0]
        child = subprocess.Popen([sys.executable, "-c", CHILD, database_url], cwd=ROOT,
                                 stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            assert child.stdout.readline().strip() == b"sealing"
            deadline = time.monotonic() + 60
            while sealed(db)[0] < before + 100 and time.monotonic() < deadline:
                time.sleep(0.02)  # a real process making progress, not a timer
        finally:  # never leave a sealer running after the test, whatever failed
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        kills += 1
        count, top, size = sealed(db)
        assert count == top + 1 == size, "a killed batch left a gap or a half-written state"
    assert kills == 4 and sealed(db)[0] < 20_000, "the kills must land before the backlog is done"
    seal_all(db)
    key = signer()
    checkpoint(db, key)
    count, top, size = sealed(db)
    assert count == top + 1 == size == 20_001
    report = verify(db, key)
    assert report.ok, report.summary

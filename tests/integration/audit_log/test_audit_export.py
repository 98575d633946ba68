"""Export → verify round trips, with memory that does not grow with the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from audit_world import T0, bulk, checkpoint, seal_all, signer

from bot.db import snapshot
from services.audit_log import export
from services.audit_log.query import AuditFilter

ORIGIN = "countersign.test/audit"
ROOT = Path(__file__).resolve().parents[3]


def do_export(db, directory, flt=AuditFilter(), fmt="jsonl"):
    with snapshot(db.engine) as conn:
        return export.export(conn, directory, flt, fmt=fmt, origin=ORIGIN)


def peak_rss_mb(*argv: str, env: dict[str, str]) -> tuple[int, float, str]:
    """Run the real CLI; its exit code, peak resident memory (MB) and output."""
    proc = subprocess.Popen([sys.executable, "-m", "bot", *argv], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, out


@pytest.mark.timeout(900)
def test_a_hundred_thousand_events_export_and_verify_with_bounded_memory(db, database_url,
                                                                         tmp_path):
    key = signer()
    bulk(db, 50_000)
    seal_all(db)
    checkpoint(db, key)
    bulk(db, 50_000, start=50_000)
    seal_all(db)
    checkpoint(db, key)
    env = {**os.environ, "DATABASE_URL": database_url, "AUDIT_LOG_ORIGIN": ORIGIN,
           "PYTHONPATH": str(ROOT)}
    vkey = key.verifier_key()
    # The same process doing no work: what importing the CLI alone costs.
    _, idle, _ = peak_rss_mb("audit", "keygen", env=env)
    code, exported, out = peak_rss_mb("audit", "export", "--output", str(tmp_path / "all"), env=env)
    assert code == 0 and "wrote 100002 events" in out, out
    code, from_export, out = peak_rss_mb("audit", "verify", "--export", str(tmp_path / "all"),
                                         "--public-key", vkey, env=env)
    assert code == 0 and out.startswith("OK: 100002 events, last checkpoint 100001"), out
    code, from_db, out = peak_rss_mb("audit", "verify", "--public-key", vkey, env=env)
    assert code == 0 and out.startswith("OK: 100002 events"), out
    size_mb = (tmp_path / "all" / "events.jsonl").stat().st_size / 2**20
    assert size_mb > 15
    # Tens of megabytes of events; none of the three may hold them.
    for peak in (exported, from_export, from_db):
        assert peak - idle < 25, (idle, exported, from_export, from_db, size_mb)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_time_range_export_verifies_on_its_own_and_notices_an_edit(db, tmp_path, fmt):
    key = signer()
    bulk(db, 300)
    seal_all(db)
    checkpoint(db, key)
    bulk(db, 200, start=300)
    seal_all(db)
    checkpoint(db, key)
    bulk(db, 7, start=500)
    seal_all(db)
    checkpoint(db, key)
    flt = AuditFilter(since=T0 + timedelta(seconds=120), until=T0 + timedelta(seconds=450))
    summary = do_export(db, tmp_path / "range", flt, fmt)
    # Contiguous in seq: the record of the checkpoint at 300 (written at T0) lies inside.
    assert (summary.start, summary.end) == (120, 451) and summary.events == 331
    report = export.verify_export(tmp_path / "range", trusted=key.verifier())
    assert report.ok, report.summary
    events = tmp_path / "range" / export.EVENTS[fmt]
    events.write_text(events.read_text().replace("U0001", "U0002", 1))
    report = export.verify_export(tmp_path / "range", trusted=key.verifier())
    assert (report.broken.seq, report.broken.reason) == (120, "changed")


def test_a_filtered_export_checks_its_leaves_and_says_the_tree_is_not_checked(db, tmp_path):
    key = signer()
    bulk(db, 50)
    seal_all(db)
    checkpoint(db, key)
    summary = do_export(db, tmp_path / "f", AuditFilter(actions=("audit.*",)))
    assert summary.filtered and summary.events == 1
    report = export.verify_export(tmp_path / "f", trusted=key.verifier())
    assert report.ok and any("filtered" in w for w in report.warnings)
    manifest = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert manifest["filtered"] is True


def test_export_refuses_a_directory_that_is_not_empty(db, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "old").write_text("")
    with pytest.raises(export.ExportError, match="not empty"):
        do_export(db, tmp_path / "x")

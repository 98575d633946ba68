"""Slack failing — 5xx, 429 with Retry-After, hanging, dropping connections — while sign-offs,
pages and revisit nudges are produced: acknowledgements stay fast meanwhile, and after
recovery everything owed is delivered exactly once, and in order per channel for each
sign-off, incident and record (workload.entity_of says why not across them)."""

import re
import time
from datetime import UTC, datetime

import pytest

from tests.harness.fake_slack import Fault
from tests.reliability.workload import (  # noqa: F401  (fixtures)
    ACK_BOUND,
    DAY,
    GOVERNANCE,
    HOUR,
    ON_CALL,
    Acks,
    approve,
    count_containing,
    incident_title,
    judge,
    knob,
    move,
    open_incident,
    open_signoff,
    outbox_rows,
    owner,
    report,
    request_message,
    request_messages,
    seed_use_cases,
    signoff_title,
    timeout,
    wait_settled,
    workload_bot,
    workload_slack,
)

FAULTS = {
    "server_error": Fault.server_error(503),
    "rate_limited": Fault.rate_limited(retry_after=1),
    # Slack posts, then never answers. The bot's client gives up after SLACK_API_TIMEOUT (2 s
    # under the harness), so past that point a 6-s hang and the 60-s one are the same
    # to it: every call ends as a timeout whose effect may have happened. The 60-s version is
    # tests/soak/slack_outage.sh.
    "hang": Fault.hang(),
    "drop_before_posting": Fault.drop(apply=False),
    "drop_after_posting": Fault.drop(apply=True),
}
# Seconds; several back-off rounds at the harness's OUTBOX_RETRY_BASE of 0.05 s. A soak script
# sets it to 60 with production's timeout and back-off (tests/soak/slack_outage.sh).
OUTAGE = knob("SLACK_OUTAGE_SECONDS", 6.0)
BEFORE = 3  # sign-offs posted before the fault and approved during it
USE_CASES = 4  # their "due soon" nudges fall due during the fault
PACE = 0.25  # seconds between workload steps, so the work is spread over the outage


@pytest.mark.e2e
@timeout(180)
@pytest.mark.parametrize("kind", FAULTS)
def test_work_owed_during_a_slack_fault_is_delivered_once_in_order_and_acks_stay_fast(
        kind, workload_slack, fake_slack, clock_file, db, tmp_path):
    slack, fake = workload_slack, fake_slack
    use_cases = seed_use_cases(db, fake, USE_CASES, now=datetime.now(UTC))
    for n in range(1, BEFORE + 1):
        assert open_signoff(slack, n).status_code == 200
    before = [request_message(fake, n) for n in range(1, BEFORE + 1)]
    wait_settled(db, fake)

    fake.inject_always("*", FAULTS[kind])
    acks = Acks()
    started = time.monotonic()
    for message in before:
        acks.send(approve, slack, message)
    signoffs, incidents, moved = BEFORE, 0, False
    while time.monotonic() - started < OUTAGE:
        if signoffs - BEFORE <= incidents:
            signoffs += 1
            acks.send(open_signoff, slack, signoffs)
        else:
            incidents += 1
            acks.send(open_incident, slack, incidents)
        if not moved and time.monotonic() - started > OUTAGE / 2:
            # Reminders, expiries, escalation steps and the nudges all fall due mid-outage.
            move(clock_file, 27 * DAY + HOUR)
            moved = True
        time.sleep(PACE)
    outage = time.monotonic() - started
    faulted = [c for c in fake.calls if c.fault]
    late = sum(r.status != "sent" for r in outbox_rows(db))  # owed when Slack came back
    fake.clear_faults()
    fake.release_hangs()
    recovered = time.monotonic()
    rows = wait_settled(db, fake, timeout=90 + 10 * OUTAGE)  # a 60-s soak owes ~1,300 messages
    recovery = time.monotonic() - recovered
    delivery = judge(db, fake, rows)
    (tmp_path / "delivery.txt").write_text(repr(delivery))  # whole, for a post-mortem
    report(tmp_path, f"slack_fault[{kind}]", {
        "fault": kind, "outage_s": round(outage, 1), "recovery_s": round(recovery, 1),
        "faulted_calls": len(faulted), "retried_rows": sum(r.attempts > 1 for r in rows),
        "delivered_late": late,
        "signoffs": signoffs, "incidents": incidents, "use_cases": USE_CASES,
        **acks.figures(), **delivery.figures()})

    assert acks.statuses == [200] * len(acks.statuses)
    assert max(acks.latencies) < ACK_BOUND, acks.figures()
    assert moved and faulted, "the fault never hit a Web API call"
    assert any(r.attempts > 1 for r in rows), "nothing was retried: the fault was not in the way"
    assert delivery.ok, delivery

    # By content, from what each acknowledged request must produce.
    # Requests are written after their ack, so two sent close together may take their numbers
    # in either order; the channel must show the numbers in order, each title once.
    top = [re.match(r"Sign-off #(\d+): code \(internal\) — (.*) \[(\w+)\]$", m["text"]).groups()
           for m in request_messages(fake)]
    assert [int(number) for number, _, _ in top] == list(range(1, signoffs + 1))
    assert sorted(title for _, title, _ in top) == [signoff_title(n) for n in range(1, signoffs + 1)]
    states = {title: state for _, title, state in top}
    assert [states[signoff_title(n)] for n in range(1, BEFORE + 1)] == ["approved"] * BEFORE
    later = [states[signoff_title(n)] for n in range(BEFORE + 1, signoffs + 1)]
    assert set(later) <= {"pending", "expired"} and "expired" in later, "expiries updated the messages"
    for n in range(1, incidents + 1):
        title = incident_title(n)
        assert count_containing(fake, GOVERNANCE, f"[sev2]: {title} — reported by") == 1, title
        assert count_containing(fake, ON_CALL, "You are paged", f"{title} (rotation:primary)") == 1
    for n, title in enumerate(use_cases, start=1):
        assert count_containing(fake, owner(n), title, "is due for review on") == 1, title

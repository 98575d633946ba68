"""A small playbook and helpers shared by the incident and escalation tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

import escalation
from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from models.audit import AuditEvent
from models.incident import Incident, IncidentPage
from models.outbox import OutboxMessage
from models.timer import Timer
from services.playbook import load_playbook_text

# A Monday. The rotations started Monday 2026-01-05 09:00 UTC, eight weeks earlier: shift 8 is
# on, so the first member of each rotation is on call (until Monday 2026-03-09 09:00 UTC).
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
REPORTER = "U0REPORT"
GOVERNANCE = "C0GOV"
INCIDENTS = "C0INC"
ADMINS = ["U0ADMIN", "U0ADMIN2"]

PLAYBOOK_YAML = """
version: 1
timezone: UTC
admins: [U0ADMIN, U0ADMIN2]
groups:
  eng-leads: {members: [U0LEAD1, U0LEAD2]}
  legal-ug: {usergroup: S0LEGAL}
channels: {governance: C0GOV, incidents: C0INC}
escalation:
  severities:
    sev1: {policy: critical, incident_channel: true, update_every: 30m}
    sev2: {policy: critical, update_every: 30m}
    sev3: {policy: low}
    sev4: {policy: counsel}
    sev5: {policy: patient}
  policies:
    critical:
      steps:
        - {notify: "rotation:ai-primary", wait: 5m}
        - {notify: "rotation:ai-secondary", wait: 10m}
        - {notify: "group:eng-leads", wait: 15m}
      repeat: 1
    low:
      steps:
        - {notify: "channel:governance"}
    counsel:
      steps:
        - {notify: "group:legal-ug", wait: 5m}
        - {notify: "user:U0BOSS", wait: 5m}
    patient:
      steps:
        - {notify: "rotation:ai-primary", wait: 5m}
        - {notify: "user:U0BOSS"}
  rotations:
    ai-primary: {members: [U0PRI1, U0PRI2], handoff: "mon 09:00", shift: 1w, start: 2026-01-05}
    ai-secondary: {members: [U0SEC1, U0SEC2], handoff: "mon 09:00", shift: 1w, start: 2026-01-05}
"""

PB = load_playbook_text(PLAYBOOK_YAML)
PAGES_PER_RUN = [  # (minutes after the start, round, step, users) of an unacknowledged sev1/sev2
    (0, 1, 1, ["U0PRI1"]),
    (5, 1, 2, ["U0SEC1"]),
    (15, 1, 3, ["U0LEAD1", "U0LEAD2"]),
    (30, 2, 1, ["U0PRI1"]),
    (35, 2, 2, ["U0SEC1"]),
    (45, 2, 3, ["U0LEAD1", "U0LEAD2"]),
]
EXHAUSTED_AFTER = timedelta(minutes=60)


def open_incident(db, severity: str = "sev2", *, now: datetime = T0, title: str = "Prompt injection in support bot",
                  reporter: str = REPORTER, playbook=PB, **extra: Any) -> int:
    with db.session() as s:
        return escalation.open_incident(s, playbook=playbook, severity=severity, title=title, reporter=reporter,
                                        now=now, **extra).id


def make_runner(db, clock, owner: str = "test") -> TimerRunner:
    runner = TimerRunner(db, clock, owner=owner)
    for kind, handler in escalation.TIMER_HANDLERS.items():
        runner.register(kind, handler)
    return runner


def sweep_until(runner: TimerRunner, clock: ManualClock, until: datetime, step: timedelta = MINUTE) -> list[datetime]:
    """Sweep at the clock's time and after every `step` up to `until`; the times anything fired."""
    fired = []
    while True:
        while runner.sweep():
            fired.append(clock.now())
        if clock.now() >= until:
            return fired
        clock.advance(step)


def incident(db, incident_id: int) -> Incident:
    with db.session() as s:
        return s.get(Incident, incident_id)


def view(db, incident_id: int) -> dict[str, Any]:
    with db.session() as s:
        return escalation.incident_view(s, s.get(Incident, incident_id))


def pages(db, incident_id: int | None = None) -> list[IncidentPage]:
    with db.session() as s:
        query = select(IncidentPage).order_by(col(IncidentPage.id))
        if incident_id is not None:
            query = query.where(IncidentPage.incident_id == incident_id)
        return list(s.exec(query).all())


def page_log(db, incident_id: int) -> list[tuple[int, int, int, str | None, datetime]]:
    """(run, round, step, user, at) of every page."""
    return [(p.run, p.round, p.step, p.user, p.at) for p in pages(db, incident_id)]


def outbox_rows(db, incident_id: int | None = None, *, template: str | None = None,
                method: str | None = None) -> list[OutboxMessage]:
    with db.session() as s:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if incident_id is not None:
            query = query.where(col(OutboxMessage.key).startswith(f"incident:{incident_id}:"))
        if template is not None:
            query = query.where(OutboxMessage.template == template)
        if method is not None:
            query = query.where(OutboxMessage.method == method)
        return list(s.exec(query).all())


def page_dms(db, incident_id: int | None = None) -> list[tuple[str, datetime]]:
    """(recipient, created_at) of every page message posted (not the later updates)."""
    return [(m.channel, m.created_at) for m in outbox_rows(db, incident_id, template="incident_page",
                                                          method="chat.postMessage")]


def audit_rows(db, incident_id: int | None = None) -> list[AuditEvent]:
    with db.session() as s:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if incident_id is not None:
            query = query.where(AuditEvent.entity_type == "incident", AuditEvent.entity_id == str(incident_id))
        return list(s.exec(query).all())


def audit_actions(db, incident_id: int | None = None) -> list[str]:
    return [e.action for e in audit_rows(db, incident_id)]


def timer_rows(db, incident_id: int, kind: str | None = None) -> list[Timer]:
    with db.session() as s:
        query = select(Timer).where(col(Timer.ref).startswith(f"incident:{incident_id}")).order_by(col(Timer.id))
        rows = [t for t in s.exec(query).all() if t.ref.split(":")[1] == str(incident_id)]
    return [t for t in rows if kind is None or t.kind == kind]


def deliver(db, key: str, *, now: datetime, channel: str | None = None, ts: str | None = None,
            failed: str | None = None) -> None:
    """Play the outbox dispatcher for one message: Slack answered (or refused with `failed`)."""
    values: dict[str, Any] = {"sent_at": now, "lease_until": None}
    if failed is not None:
        values.update(status="failed", last_error=failed)
    else:
        values.update(status="sent", result_channel=channel, result_ts=ts,
                      result={"channel": {"id": channel}} if channel and not ts else {"ts": ts})
    with db.session() as s:
        s.exec(update(OutboxMessage).where(OutboxMessage.key == key).values(**values))


def ack(db, incident_id: int, user: str, *, now: datetime, **extra: Any) -> escalation.Outcome:
    with db.session() as s:
        return escalation.acknowledge(s, incident_id=incident_id, user=user, now=now, **extra)

"""A small world for the usage watcher's tests: a playbook with one rule on at a time, events
stored the way ingestion stores them, registry records written as rows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from sqlmodel import col, select

from models.audit import AuditEvent
from models.incident import Incident
from models.outbox import OutboxMessage
from models.registry import APPROVED, UseCase, Vendor
from models.usage import UsageAlert, UsageDaily, UsageEvent
from services.playbook import load_playbook_text
from services.usage import alerts as usage_alerts
from services.usage import watching
from services.usage.event import Observation
from services.usage.rules import RULES
from services.usage.store import store

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, the playbook's zone
DAY = timedelta(days=1)
LATER = T0 + timedelta(minutes=5)
GOVERNANCE = "C0GOV"
ALERTS = "C0USAGE"
_KEYS = itertools.count(1)

BASE = {
    "version": 1,
    "timezone": "Europe/Berlin",
    "admins": ["U0ADMIN"],
    "groups": {"writers": {"members": ["U0ALICE"]}, "legal": {"usergroup": "S0LEGAL"}},
    "channels": {"governance": GOVERNANCE},
    "escalation": {
        "severities": {"sev1": {"policy": "loud"}, "sev3": {"policy": "quiet"}},
        "policies": {"loud": {"steps": [{"notify": "group:writers"}]},
                     "quiet": {"steps": [{"notify": "channel:governance"}]}},
    },
}


def playbook(*on: str, usage: dict[str, Any] | None = None, **watch: Any):
    """The playbook with only the rules in `on` watched (and `watch` overriding any)."""
    flags: dict[str, Any] = {rule: rule in on for rule in RULES}
    flags.update(watch)
    section = {"channel": ALERTS, "services": {"support-*": "UC-1"},
               "people": {"alice@acme.example": "U0ALICE"}, **(usage or {}),
               "watch": flags}
    return load_playbook_text(yaml.safe_dump({**BASE, "usage": section}, sort_keys=False))


def event(**over: Any) -> Observation:
    values: dict[str, Any] = {"key": f"native:evt-{next(_KEYS)}", "source": "native",
                              "started_at": T0, "request_model": "gpt-4o", "provider": "openai",
                              "service": "support-bot", "user": "alice@acme.example"}
    values.update(over)
    return Observation(**values)


def observe(db, *events: Observation, now: datetime = T0) -> None:  # noqa: ANN001
    with db.session() as s:
        store(s, list(events), source="native", ingested_by="test", now=now)


def watch(db, pb, *, now: datetime = T0, limit: int = watching.BATCH,  # noqa: ANN001
          members: dict[str, list[str]] | None = None,
          unresolved: frozenset[str] = frozenset()) -> watching.Watched:
    with db.session() as s:
        return watching.watch_batch(s, now=now, playbook=pb.playbook, limit=limit,
                                    group_members=members if members is not None else
                                    {"writers": ["U0ALICE"]},
                                    unresolved_groups=unresolved)


def watch_all(db, pb, **kwargs: Any) -> int:  # noqa: ANN001
    total = 0
    while (n := watch(db, pb, **kwargs).events):
        total += n
    return total


def use_case(db, *, status: str = APPROVED, models: str = "OpenAI / gpt-4o / 2024-08-06",  # noqa: ANN001
             privacy: str = "Tickets hold names and e-mail addresses; excerpts are redacted.",
             next_review_at: datetime | None = None, title: str = "Support bot",
             risk_tier: str = "limited") -> int:
    lines = []
    for line in filter(None, models.splitlines()):
        parts = [p.strip() for p in line.split("/")] + ["", "", ""]
        lines.append(dict(zip(("provider", "model", "version", "hosting"), parts[:4], strict=True)))
    record = UseCase(title=title, owner="U0OWN", created_by="U0OWN", created_at=T0 - 30 * DAY,
                     updated_at=T0 - 30 * DAY, next_review_at=next_review_at or T0 + 60 * DAY,
                     status=status, models=lines, privacy=privacy, risk_tier=risk_tier)
    with db.session() as s:
        s.add(record)
        s.flush()
        return record.id


def vendor(db, name: str, review_status: str) -> int:  # noqa: ANN001
    record = Vendor(name=name, assignee="U0ASSIGN", review_status=review_status, created_by="U0ASSIGN",
                    created_at=T0 - 30 * DAY, updated_at=T0 - 30 * DAY, next_review_at=T0 + 90 * DAY)
    with db.session() as s:
        s.add(record)
        s.flush()
        return record.id


def alerts(db, rule: str | None = None) -> list[UsageAlert]:  # noqa: ANN001
    with db.session() as s:
        query = select(UsageAlert).order_by(col(UsageAlert.id))
        if rule is not None:
            query = query.where(UsageAlert.rule == rule)
        return list(s.exec(query).all())


def keys(db, rule: str | None = None) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [(a.rule, a.key, a.day) for a in alerts(db, rule)]


def daily(db) -> list[UsageDaily]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(UsageDaily).order_by(col(UsageDaily.id))).all())


def raw_events(db) -> list[UsageEvent]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(UsageEvent).order_by(col(UsageEvent.id))).all())


def outbox_rows(db, template: str = "usage_alert") -> list[OutboxMessage]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.template == template)
                           .order_by(col(OutboxMessage.id))).all())


def audit_rows(db, prefix: str = "usage.alert") -> list[AuditEvent]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(AuditEvent).where(col(AuditEvent.action).startswith(prefix))
                           .order_by(col(AuditEvent.id))).all())


def acknowledge(db, pb, alert_id: int, user: str, now=LATER):  # noqa: ANN001, ANN201
    with db.session() as s:
        return usage_alerts.acknowledge(s, alert_id=alert_id, user=user, now=now, playbook=pb.playbook)


def open_incident(db, pb, alert_id: int, user: str, now=LATER):  # noqa: ANN001, ANN201
    with db.session() as s:
        return usage_alerts.open_incident(s, alert_id=alert_id, user=user, now=now, playbook=pb,
                                          group_members={"writers": ["U0ALICE"]})


def incidents(db) -> list[Incident]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(Incident)).all())

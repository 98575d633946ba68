"""The one way any state change records itself in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.logs import current
from models.audit import AuditEvent
from services.audit_log.canonical import refuse_floats


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction; it commits or rolls back with it. It is
    sealed later (services/audit_log/sealer.py), so writers never wait on each other here."""
    refuse_floats(payload or {})
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        payload=payload or {},
        request_id=current("request_id"),
    )
    session.add(event)
    return event

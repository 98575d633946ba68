"""Refusals that come before any rule of an action: who the person is, not what they asked."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from services import audit

DENIED = "access.denied"
ENTITY = "slack_user"


def refuse_deactivated(session: Session, *, now: datetime, user: str, attempted: str) -> None:
    """A request in the name of someone Slack says is deactivated: on their record, and nothing
    else. `attempted` is what the request was for (a command, button or form), clipped."""
    audit.append(session, at=now, actor=user, action=DENIED, entity_type=ENTITY, entity_id=user,
                 payload={"attempted": attempted[:100], "reason": "deactivated"})

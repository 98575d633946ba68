from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# Incident statuses: open pages people until someone acknowledges; resolved ends everything
# (a reopen starts a new escalation run).
OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED)
ACTIVE_STATUSES = (OPEN, ACKNOWLEDGED)

CATEGORIES = ("prompt_injection", "data_exposure", "harmful_output", "model_outage", "vendor_change", "other")


class Incident(SQLModel, table=True):
    """An AI incident, escalated along the chain frozen when it opened.

    `chain` is `escalation_chain(...).model_dump(mode="json")`; `roster` freezes what paging
    needs besides the chain (the rotations and standing overrides it names, its groups' members
    as resolved at opening, the admins, the channels, the time zone) so that every process fires
    a step the same way whatever playbook it has loaded. `escalation_run` grows on every (re)start
    of the chain: a step timer set for an earlier run never fires. `next_reminder_at` is the due
    time of the one status-update reminder that counts (a superseded reminder timer is a no-op).
    """

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    severity: str = Field(max_length=64)
    title: str = Field(max_length=150)
    category: str = Field(default="other", max_length=32)
    description: str = Field(default="", max_length=3000)
    reporter: str = Field(max_length=32, index=True)
    source_permalink: str | None = Field(default=None, max_length=500)
    affected: str | None = Field(default=None, max_length=200)
    status: str = Field(default=OPEN, max_length=16)
    chain: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    roster: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    playbook_hash: str = Field(max_length=64)
    playbook_version: int
    channel: str | None = Field(default=None, max_length=32)
    channel_name: str | None = Field(default=None, max_length=80, unique=True)
    announce_channel: str = Field(max_length=32)
    summary_key: str | None = Field(default=None, max_length=200)
    escalation_run: int = 1
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=32)
    resolved_at: datetime | None = None
    resolution_summary: str | None = Field(default=None, max_length=3000)
    postmortem_url: str | None = Field(default=None, max_length=500)
    revisit_usecase: bool = False
    last_update_at: datetime | None = None
    last_reminder_at: datetime | None = None
    next_reminder_at: datetime | None = None
    update_snoozed_until: datetime | None = None
    opened_at: datetime
    updated_at: datetime
    state_version: int = 1


class IncidentPage(SQLModel, table=True):
    """One page that happened: `recipient` (a user, or a channel for a channel target) was
    paged at (run, round, step). The unique constraint makes a page happen once at most.

    `user` is the person paged (None for a channel target, whose channel is `recipient`).
    """

    __tablename__ = "incident_page"
    __table_args__ = (
        UniqueConstraint("incident_id", "run", "round", "step", "recipient", name="uq_incident_page_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    run: int
    round: int
    step: int
    target: str = Field(max_length=100)
    user: str | None = Field(default=None, max_length=32)
    recipient: str = Field(max_length=32)
    at: datetime
    outbox_key: str = Field(max_length=200)


class OncallOverride(SQLModel, table=True):
    """Made from Slack: `user` is on call for `rotation` from `start` to `end` (end excluded).

    Stored overrides beat the playbook's standing ones; among stored ones the latest created wins.
    """

    __tablename__ = "oncall_override"

    id: int | None = Field(default=None, primary_key=True)
    rotation: str = Field(max_length=64, index=True)
    user: str = Field(max_length=32)
    start: datetime
    end: datetime
    created_by: str = Field(max_length=32)
    created_at: datetime
    cancelled: bool = False

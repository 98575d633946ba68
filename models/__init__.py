"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from models.approval import ApprovalRequest, ApprovalVote, ChecklistConfirmation
from models.audit import AuditEvent
from models.inbound import InboundDelivery
from models.incident import Incident, IncidentPage, OncallOverride
from models.outbox import OutboxMessage
from models.registry import (
    DigestRun,
    DigestSubscriber,
    RecordChange,
    UseCase,
    UseCaseVendor,
    Vendor,
)
from models.timer import Timer

__all__ = [
    "ApprovalRequest",
    "ApprovalVote",
    "AuditEvent",
    "ChecklistConfirmation",
    "DigestRun",
    "DigestSubscriber",
    "InboundDelivery",
    "Incident",
    "IncidentPage",
    "OncallOverride",
    "OutboxMessage",
    "RecordChange",
    "Timer",
    "UseCase",
    "UseCaseVendor",
    "Vendor",
]

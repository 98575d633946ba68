"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from models.api_token import ApiToken
from models.approval import ApprovalRequest, ApprovalVote, ChecklistConfirmation
from models.audit import AuditCheckpoint, AuditEvent, AuditLogState
from models.github import GitHubDelivery, PullRequestCheck
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
from models.usage import UsageAlert, UsageDaily, UsageEvent, UsageFirstSeen

__all__ = [
    "ApiToken",
    "ApprovalRequest",
    "ApprovalVote",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditLogState",
    "ChecklistConfirmation",
    "DigestRun",
    "DigestSubscriber",
    "GitHubDelivery",
    "InboundDelivery",
    "Incident",
    "IncidentPage",
    "OncallOverride",
    "OutboxMessage",
    "PullRequestCheck",
    "RecordChange",
    "Timer",
    "UsageAlert",
    "UsageDaily",
    "UsageEvent",
    "UsageFirstSeen",
    "UseCase",
    "UseCaseVendor",
    "Vendor",
]

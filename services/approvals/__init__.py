"""Human sign-off: approval requests, decisions under a frozen policy, the CI gate.

Pure domain: plain values in and out, time passed in, no Slack types. Every state change is
one transaction in the caller's session — the entity change, an audit event, and outbox rows
whose payload is `request_view(...)` (plus an `event` dict describing what happened).
"""

from models.approval import (
    APPROVE,
    APPROVED,
    CANCELLED,
    CHANGES_REQUESTED,
    DECISIONS,
    EXPIRED,
    FINAL_STATUSES,
    OPEN_STATUSES,
    PENDING,
    REJECT,
    REJECTED,
    REQUEST_CHANGES,
    STATUSES,
)

from .decisions import Decision, decide, get, get_request
from .errors import ApprovalInputError, PolicyRefusal, UnknownRequest
from .lifecycle import RESUBMITTABLE, cancel, may_resubmit, resubmit
from .limits import AI_TOOL_MAX, REASON_MAX, REFERENCE_MAX, SUMMARY_MAX, TITLE_MAX
from .opening import open_request, refuse_opening
from .policy import GroupMembers
from .queries import GateAnswer, gate, requested_by, waiting_for
from .record import (
    EXPIRE,
    REMIND,
    T_BREAK_GLASS,
    T_DM,
    T_FINAL,
    T_OUTCOME_DM,
    T_REMINDER,
    T_REQUEST,
    T_THREAD_NOTICE,
    T_VOTE_NOTICE,
)
from .refs import normalize_ref
from .timer_handlers import TIMER_HANDLERS, fire_expiry, fire_reminder
from .views import policy_line, request_view, request_views

TEMPLATES = (T_REQUEST, T_THREAD_NOTICE, T_DM, T_VOTE_NOTICE, T_FINAL, T_OUTCOME_DM, T_BREAK_GLASS, T_REMINDER)

__all__ = [
    "AI_TOOL_MAX",
    "APPROVE",
    "APPROVED",
    "CANCELLED",
    "CHANGES_REQUESTED",
    "DECISIONS",
    "EXPIRE",
    "EXPIRED",
    "FINAL_STATUSES",
    "OPEN_STATUSES",
    "PENDING",
    "REASON_MAX",
    "REFERENCE_MAX",
    "REJECT",
    "REJECTED",
    "REMIND",
    "REQUEST_CHANGES",
    "RESUBMITTABLE",
    "STATUSES",
    "SUMMARY_MAX",
    "TEMPLATES",
    "TIMER_HANDLERS",
    "TITLE_MAX",
    "ApprovalInputError",
    "Decision",
    "GateAnswer",
    "GroupMembers",
    "PolicyRefusal",
    "UnknownRequest",
    "cancel",
    "decide",
    "fire_expiry",
    "fire_reminder",
    "gate",
    "get",
    "get_request",
    "may_resubmit",
    "normalize_ref",
    "open_request",
    "policy_line",
    "refuse_opening",
    "request_view",
    "request_views",
    "requested_by",
    "resubmit",
    "waiting_for",
]

"""Escalation domain: AI incidents, escalation chains, on-call rotations and their timers.

Pure domain: plain values in and out, time passed in, no Slack types. Every state change is
one transaction in the caller's session — the entity change, an audit event (entity_type
"incident" or "oncall_override"), and outbox rows whose payload is `incident_view(...)` plus an
`event` dict (see record.py for every template). Timers are rows (services/timers.py); register
`TIMER_HANDLERS` with the TimerRunner.
"""

from models.incident import (
    ACKNOWLEDGED,
    ACTIVE_STATUSES,
    CATEGORIES,
    OPEN,
    RESOLVED,
    STATUSES,
    Incident,
    IncidentPage,
    OncallOverride,
)

from .channel import channel_name, fire_channel_ready, fire_pin_summary, slug
from .engine import FIRST, Position, Reach, next_step, plan, resolve_target
from .errors import IncidentInputError, UnknownIncident
from .lifecycle import Outcome, acknowledge, reopen, resolve, unacknowledge
from .limits import (
    AFFECTED_MAX,
    DESCRIPTION_MAX,
    PERMALINK_MAX,
    SNOOZE_MINUTES,
    SUMMARY_MAX,
    TITLE_MAX,
    UPDATE_MAX,
    URL_MAX,
)
from .oncall import (
    T_OVERRIDE,
    Handoff,
    OverrideResult,
    Segment,
    Shift,
    add_override,
    cancel_override,
    effective_overrides,
    on_call_now,
    schedule,
    shifts_of,
)
from .opening import open_incident
from .paging import fire_step
from .queries import (
    by_channel,
    get,
    get_incident,
    open_incident_page,
    open_incidents,
    paged_users,
    pages_of,
)
from .record import (
    CHANNEL_READY,
    PIN_SUMMARY,
    STEP,
    T_ANNOUNCEMENT,
    T_EXHAUSTED,
    T_NOTICE,
    T_PAGE,
    T_PAGE_NOTICE,
    T_STEP_SKIPPED,
    T_SUMMARY,
    T_UPDATE_REMINDER,
    UPDATE_REMINDER,
)
from .timeline import timeline
from .updates import fire_update_reminder, post_update, snooze_updates
from .views import incident_view

TEMPLATES = (T_ANNOUNCEMENT, T_SUMMARY, T_PAGE, T_PAGE_NOTICE, T_STEP_SKIPPED, T_EXHAUSTED, T_NOTICE,
             T_UPDATE_REMINDER, T_OVERRIDE)

TIMER_HANDLERS = {
    STEP: fire_step,
    UPDATE_REMINDER: fire_update_reminder,
    CHANNEL_READY: fire_channel_ready,
    PIN_SUMMARY: fire_pin_summary,
}

__all__ = [
    "ACKNOWLEDGED",
    "ACTIVE_STATUSES",
    "AFFECTED_MAX",
    "CATEGORIES",
    "CHANNEL_READY",
    "DESCRIPTION_MAX",
    "FIRST",
    "OPEN",
    "PERMALINK_MAX",
    "PIN_SUMMARY",
    "RESOLVED",
    "SNOOZE_MINUTES",
    "STATUSES",
    "STEP",
    "SUMMARY_MAX",
    "TEMPLATES",
    "TIMER_HANDLERS",
    "TITLE_MAX",
    "UPDATE_MAX",
    "UPDATE_REMINDER",
    "URL_MAX",
    "Handoff",
    "Incident",
    "IncidentInputError",
    "IncidentPage",
    "OncallOverride",
    "Outcome",
    "OverrideResult",
    "Position",
    "Reach",
    "Segment",
    "Shift",
    "UnknownIncident",
    "acknowledge",
    "add_override",
    "by_channel",
    "cancel_override",
    "channel_name",
    "effective_overrides",
    "fire_channel_ready",
    "fire_pin_summary",
    "fire_step",
    "fire_update_reminder",
    "get",
    "get_incident",
    "incident_view",
    "next_step",
    "on_call_now",
    "open_incident",
    "open_incident_page",
    "open_incidents",
    "paged_users",
    "pages_of",
    "plan",
    "post_update",
    "reopen",
    "resolve",
    "resolve_target",
    "schedule",
    "shifts_of",
    "slug",
    "snooze_updates",
    "timeline",
    "unacknowledge",
]

"""The living documentation: AI use-case and vendor records, revisit nudges, weekly digests.

Pure domain: plain values in and out, time passed in, no Slack types. Every change is one
transaction in the caller's session — the record, its field history, an audit event, and the
timers (revisit) or outbox rows (nudges, digests) it owes.
"""

from .authority import SYSTEM, Authority
from .crosscheck import use_case_check
from .errors import NotAllowed, RegistryInputError, UnknownRecord
from .lookup import get, linked_ids, owners, ref
from .records import (
    create,
    deny,
    edit,
    history,
    mark_reviewed,
    referenced,
    require_keeper,
    require_reviewer,
    require_vendor_reviewer,
    retire,
    revisit_now,
)
from .revisit import T_NUDGE, T_RAISE, TIMER_HANDLERS, snooze
from .views import (
    choices,
    due_for,
    list_records,
    record_summary,
    record_view,
    reviewing,
    search,
    vendor_flags,
)

__all__ = [
    "SYSTEM",
    "TIMER_HANDLERS",
    "T_NUDGE",
    "T_RAISE",
    "Authority",
    "NotAllowed",
    "RegistryInputError",
    "UnknownRecord",
    "choices",
    "create",
    "deny",
    "due_for",
    "edit",
    "get",
    "history",
    "linked_ids",
    "list_records",
    "mark_reviewed",
    "owners",
    "record_summary",
    "record_view",
    "ref",
    "referenced",
    "require_keeper",
    "require_reviewer",
    "require_vendor_reviewer",
    "retire",
    "reviewing",
    "revisit_now",
    "search",
    "snooze",
    "use_case_check",
    "vendor_flags",
]

"""What a sign-off request learns from the registry about the use case it names."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlmodel import Session

from models.registry import APPROVED, PROHIBITED, USECASE, UseCase
from services.wallclock import days_until

from .errors import RegistryInputError
from .lookup import ref
from .views import vendor_flags


def use_case_check(session: Session, use_case_id: int, *, now: datetime, tz: tzinfo = UTC) -> dict[str, Any]:
    """The use case's standing for a sign-off: {id, ref, title, status, current, warning}.

    `warning` says why it is not a sound basis (not approved, past its review, relying on a
    vendor not reviewed), or is None. An unknown id is refused on the `use_case` field.
    """
    record = session.get(UseCase, use_case_id)
    if record is None:
        raise RegistryInputError("use_case", f"There is no use case #{use_case_id}: "
                                             "`/ai-usecase list` shows the documented ones.")
    problems = []
    prohibited = record.risk_tier == PROHIBITED  # approved before approving one was refused
    if prohibited:
        problems.append(f"{ref(USECASE, record.id)} is in the prohibited risk tier")
    elif record.status != APPROVED:
        problems.append(f"{ref(USECASE, record.id)} is {record.status}, not approved")
    overdue = -days_until(record.next_review_at, now, tz)  # by the playbook's calendar
    if record.next_review_at <= now:
        problems.append(f"its review is {overdue} day{'s' if overdue != 1 else ''} overdue"
                        if overdue else "its review is due")
    for flag in vendor_flags(session, [record.id]).get(record.id, []):
        problems.append(f"it relies on vendor {flag['ref']} {flag['name']} "
                        f"({flag['review_status'].replace('_', ' ')})")
    return {"id": record.id, "ref": ref(USECASE, record.id), "title": record.title,
            "status": record.status, "current": not problems,
            "sound": record.status == APPROVED and not prohibited and record.next_review_at > now,
            "warning": "; ".join(problems) or None}

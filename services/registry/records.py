"""Creating and maintaining use-case and vendor records: one transaction per change.

Each change writes the record, its per-field history (`record_change`), an audit event and the
revisit timers of its next review (`revisit`), together or not at all. Refusals raise
RegistryInputError naming the form field, before anything is written.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from models.registry import (
    APPROVED,
    FOLLOW_UP,
    PROHIBITED,
    PROPOSED,
    REJECTED,
    RETIRED,
    REVIEWED,
    USECASE,
    VENDOR,
    VENDOR_REJECTED,
    RecordChange,
    UseCase,
    UseCaseVendor,
    Vendor,
)
from services import audit
from services.playbook.schema import Playbook

from . import fields, revisit
from .authority import Authority
from .errors import NotAllowed, RegistryInputError
from .lookup import LINK_FIELD, MODELS, Record, get, linked_ids, owners, ref

# The entity of a refusal to create a record: there is no record, and no id, yet.
NEW = "new"
# A date picked for the next review means that morning, on the playbook's wall clock.
REVIEW_TIME_OF_DAY = time(9, 0)


def local_today(pb: Playbook, now: datetime) -> date:
    return now.astimezone(pb.tz).date()


def create(session: Session, kind: str, raw: dict[str, Any], *, authority: Authority,
           now: datetime, playbook: Playbook) -> Record:
    values, errors = fields.clean(kind, raw, today=local_today(playbook, now), partial=False)
    links = values.pop(LINK_FIELD[kind], [])
    picked = values.pop("next_review", None)
    _check_links(session, kind, links, errors)
    if kind == VENDOR:
        _check_vendor_people(values, errors, authority=authority, assignee=values.get("assignee"))
    if kind == USECASE:
        values.pop("status", None)
        values["status"] = PROPOSED
    if errors:
        raise RegistryInputError.collect(errors)
    record = MODELS[kind](**values, created_by=authority.user, created_at=now, updated_at=now,
                          next_review_at=now)
    if kind == VENDOR and record.review_status in (REVIEWED, FOLLOW_UP, VENDOR_REJECTED):
        record.last_reviewed_at, record.last_reviewed_by = now, authority.user
    record.next_review_at = _next_review(playbook, kind, record, now=now, picked=picked)
    session.add(record)
    session.flush()
    _set_links(session, kind, record.id, links)
    revisit.schedule(session, kind, record, playbook=playbook, now=now)
    _audit(session, kind, record, now=now, actor=authority.user, action=f"{kind}.created",
           values={**_plain(values), LINK_FIELD[kind]: links,
                   "next_review_at": record.next_review_at.isoformat()})
    return record


def edit(session: Session, kind: str, record_id: int, raw: dict[str, Any], *,
         authority: Authority, now: datetime, playbook: Playbook) -> tuple[Record, list[str]]:
    """Apply the given fields; returns the record and the names of the fields that changed."""
    record = get(session, kind, record_id, lock=True)
    require_keeper(kind, record, authority, "edit")
    values, errors = fields.clean(kind, raw, today=local_today(playbook, now), partial=True)
    links = values.pop(LINK_FIELD[kind], None)
    picked = values.pop("next_review", None)
    if links is not None:
        _check_links(session, kind, links, errors)
    if kind == USECASE:
        _check_status_change(record, values.get("status"), authority)
        _check_not_prohibited(record, values, errors)
    else:
        assignee = values.get("assignee", record.assignee)
        people = {"reviewer": values.get("reviewer", record.reviewer), **values}
        _check_vendor_people(people, errors, authority=authority, assignee=assignee,
                             current=record.review_status)
    if errors:
        raise RegistryInputError.collect(errors)
    old_status = getattr(record, "status", None)
    changed = _apply(session, kind, record, values, by=authority.user, now=now)
    if links is not None:
        old_links = linked_ids(session, kind, record.id)
        if sorted(links) != old_links:
            _set_links(session, kind, record.id, links)
            _history(session, kind, record, LINK_FIELD[kind], old_links, sorted(links),
                     by=authority.user, now=now)
            changed.append(LINK_FIELD[kind])
    ended_review = kind == VENDOR and "review_status" in changed and record.review_status in (
        REVIEWED, FOLLOW_UP, VENDOR_REJECTED)
    if ended_review:
        _stamp_review(session, kind, record, by=authority.user, now=now)
    status_moved = kind == USECASE and "status" in changed
    unretired = status_moved and old_status == RETIRED
    due_before = record.next_review_at
    if picked is not None or "risk_tier" in changed or "risk_level" in changed \
            or (kind == VENDOR and "review_status" in changed):
        base = record.last_reviewed_at or record.created_at
        _move_review(session, kind, record, _next_review(playbook, kind, record, now=base,
                                                         picked=picked), by=authority.user, now=now)
        if record.next_review_at != due_before:
            changed.append("next_review")
    if changed:
        _touch(record, now)
        session.add(record)
        session.flush()
        # Plain edits leave the timers alone: a snoozed nudge stays snoozed.
        if status_moved and record.status == RETIRED:
            revisit.cancel(session, kind, record.id)
        elif record.next_review_at != due_before or unretired:
            revisit.schedule(session, kind, record, playbook=playbook, now=now)
        _audit(session, kind, record, now=now, actor=authority.user, action=f"{kind}.edited",
               values={"fields": changed})
        # The same events as the dedicated paths, so counts and timelines see them either way.
        if ended_review:
            _audit(session, kind, record, now=now, actor=authority.user, action=f"{kind}.reviewed",
                   values={"next_review_at": record.next_review_at.isoformat(),
                           "review_status": record.review_status})
        if status_moved and record.status == RETIRED:
            _audit(session, kind, record, now=now, actor=authority.user, action="usecase.retired", values={})
    return record, changed


def mark_reviewed(session: Session, kind: str, record_id: int, *, authority: Authority,
                  now: datetime, playbook: Playbook, result: str | None = None,
                  outcome: str = REVIEWED, tag: str | None = None) -> Record:
    """Record a review: who, when; the next review follows the cadence from now. With `tag`
    (a nudge's review date), refused when the record was reviewed or moved since the nudge."""
    record = get(session, kind, record_id, lock=True)
    require_reviewer(kind, record, authority)
    if tag is not None and revisit.stamp(record) != tag:
        raise RegistryInputError("id", f"{ref(kind, record.id)} was already reviewed since this reminder. "
                                       "Nothing to do.")
    if kind == USECASE:
        if record.status == RETIRED:
            raise RegistryInputError("id", f"{ref(kind, record.id)} is retired; reviews are for "
                                           "records in use. Edit its status to bring it back.")
    else:
        if outcome not in (REVIEWED, FOLLOW_UP, VENDOR_REJECTED):
            raise RegistryInputError("review_status", "A review ends reviewed, requiring follow-up, or rejected.")
        errors: dict[str, str] = {}
        if result is not None:
            values, errors = fields.clean(VENDOR, {"review_result": result}, today=local_today(playbook, now),
                                          partial=True)
        if errors:
            raise RegistryInputError.collect(errors)
        _apply(session, kind, record, {"review_status": outcome,
                                       **({"review_result": values["review_result"]} if result is not None else {})},
               by=authority.user, now=now)
    _stamp_review(session, kind, record, by=authority.user, now=now)
    _move_review(session, kind, record, _next_review(playbook, kind, record, now=now, picked=None),
                 by=authority.user, now=now)
    record.snoozes = 0
    _touch(record, now)
    session.add(record)
    session.flush()
    revisit.schedule(session, kind, record, playbook=playbook, now=now)
    _audit(session, kind, record, now=now, actor=authority.user, action=f"{kind}.reviewed",
           values={"next_review_at": record.next_review_at.isoformat(),
                   **({"review_status": record.review_status} if kind == VENDOR else {})})
    return record


def retire(session: Session, record_id: int, *, authority: Authority, now: datetime,
           playbook: Playbook) -> UseCase:
    record = get(session, USECASE, record_id, lock=True)
    require_keeper(USECASE, record, authority, "retire")
    if record.status == RETIRED:
        return record
    _apply(session, USECASE, record, {"status": RETIRED}, by=authority.user, now=now)
    _touch(record, now)
    session.add(record)
    session.flush()
    revisit.cancel(session, USECASE, record.id)
    _audit(session, USECASE, record, now=now, actor=authority.user, action="usecase.retired", values={})
    return record


_REFERENCE = re.compile(r"\b(UC|V)-(\d{1,9})\b", re.IGNORECASE)


def referenced(text: str | None) -> list[tuple[str, int]]:
    """Record references (`UC-12`, `V-3`) written in free text, each once, in order."""
    found = [(USECASE if k.upper() == "UC" else VENDOR, int(n)) for k, n in _REFERENCE.findall(text or "")]
    return list(dict.fromkeys(found))


def revisit_now(session: Session, text: str | None, *, actor: str, now: datetime, playbook: Playbook,
                reason: str) -> list[str]:
    """Make the records `text` names due for review now (an incident showed they may be wrong):
    their owners are nudged at the next sweep. Returns the refs flagged; unknown or retired
    ones are passed over."""
    flagged = []
    for kind, record_id in referenced(text):
        record = session.get(MODELS[kind], record_id, with_for_update=True, populate_existing=True)
        if record is None or (kind == USECASE and record.status == RETIRED):
            continue
        _move_review(session, kind, record, now, by=actor, now=now)
        _touch(record, now)
        session.add(record)
        session.flush()
        revisit.schedule(session, kind, record, playbook=playbook, now=now)
        _audit(session, kind, record, now=now, actor=actor, action=f"{kind}.revisit_requested",
               values={"reason": reason})
        flagged.append(ref(kind, record_id))
    return flagged


def history(session: Session, kind: str, record_id: int, *, limit: int = 20) -> list[RecordChange]:
    return list(session.exec(
        select(RecordChange).where(RecordChange.record_type == kind, RecordChange.record_id == record_id)
        .order_by(col(RecordChange.id).desc()).limit(limit)
    ).all())


# --- checks --------------------------------------------------------------------------------


def require_keeper(kind: str, record: Record, authority: Authority, verb: str) -> None:
    """NotAllowed unless `authority` keeps the record or governs (also for opening its form)."""
    keepers = owners(kind, record)
    if authority.user in keepers or authority.governs:
        return
    who = " or ".join(f"<@{u}>" for u in keepers[:3])
    raise NotAllowed("id", f"Only the people who keep {ref(kind, record.id)} ({who}) or a documentation "
                           f"admin may {verb} it.")


def require_reviewer(kind: str, record: Record, authority: Authority) -> None:
    """NotAllowed unless `authority` may mark the record reviewed: a use case's owner, a
    vendor's reviewer, or a documentation admin. Contributors help keep a use case, but the
    review is the owner's word that it is still true."""
    if kind == VENDOR:
        require_vendor_reviewer(record, authority)  # type: ignore[arg-type]
    elif authority.user != record.owner and not authority.governs:
        raise NotAllowed("id", f"Only the owner of {ref(kind, record.id)} (<@{record.owner}>) or a documentation "
                               "admin may mark it reviewed.")


def deny(session: Session, kind: str, record_id: int | None, *, actor: str, attempted: str, reason: str,
         now: datetime) -> None:
    """Someone tried what the record's rules do not let them: the attempt is on the record (on
    `new` when it was a record they tried to create). In its own transaction, since the refused
    one rolled back."""
    audit.append(session, at=now, actor=actor, action=f"{kind}.denied", entity_type=kind,
                 entity_id=NEW if record_id is None else str(record_id),
                 payload={"ref": None if record_id is None else ref(kind, record_id), "attempted": attempted,
                          "reason": reason})


def require_vendor_reviewer(record: Vendor, authority: Authority) -> None:
    """NotAllowed unless `authority` may sign the vendor's review off: never its assignee."""
    if authority.user == record.assignee:
        raise NotAllowed("id", f"<@{record.assignee}> is the assignee of {ref(VENDOR, record.id)}: the review is "
                               "signed off by someone else (separation of duties). Name a reviewer with "
                               f"`/ai-vendor edit {record.id}`.")
    if record.reviewer and authority.user != record.reviewer and not authority.governs:
        raise NotAllowed("id", f"The review of {ref(VENDOR, record.id)} is <@{record.reviewer}>'s to sign off.")
    if not record.reviewer and not authority.governs:
        raise NotAllowed("id", f"{ref(VENDOR, record.id)} has no reviewer yet: name one with "
                               f"`/ai-vendor edit {record.id}`.")


def _check_links(session: Session, kind: str, ids: list[int], errors: dict[str, str]) -> None:
    if not ids:
        return
    other = MODELS[VENDOR if kind == USECASE else USECASE]
    found = set(session.exec(select(other.id).where(col(other.id).in_(ids))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        label = "vendor" if kind == USECASE else "use case"
        errors[LINK_FIELD[kind]] = f"There is no {label} #{missing[0]}."


def _check_status_change(record: UseCase, status: str | None, authority: Authority) -> None:
    if status is None or status == record.status:
        return
    # Who may, not what was typed: NotAllowed, which callers audit, rather than a field error.
    if status in (APPROVED, REJECTED):
        if not authority.governs:
            raise NotAllowed("status", "Only the playbook's admins and documentation approvers may "
                                       "approve or reject a use case; ask in the governance channel.")
        if authority.user == record.owner:
            raise NotAllowed("status", "You own this use case: someone else approves or rejects it.")


def _prohibited(use_case_ref: str) -> str:
    # The playbook's risk tiers carry no text of their own (its off_limits name uses, not
    # tiers), so the reason is the tier's meaning, said plainly.
    return (f"{use_case_ref} is in the prohibited risk tier: a use of AI that may not be put into service "
            "at all (the EU AI Act's unacceptable risk), so it cannot be approved.")


def _check_not_prohibited(record: UseCase, values: dict[str, Any], errors: dict[str, str]) -> None:
    """A use case is never approved while its risk tier is prohibited, whichever of the two moves."""
    status, tier = values.get("status", record.status), values.get("risk_tier", record.risk_tier)
    if (status, tier) == (record.status, record.risk_tier):
        return  # an edit of other fields leaves standing what it did not touch
    if status != APPROVED or tier != PROHIBITED or "status" in errors:
        return
    reason = _prohibited(ref(USECASE, record.id))
    if status != record.status:
        errors["status"] = f"{reason} Reject it, or correct its risk tier if it was set by mistake."
    else:
        errors["risk_tier"] = (f"{reason} It is approved now: set its status to rejected or retired "
                               "in the same edit.")


def _check_vendor_people(values: dict[str, Any], errors: dict[str, str], *, authority: Authority,
                         assignee: str | None, current: str | None = None) -> None:
    reviewer = values.get("reviewer")
    if reviewer and assignee and reviewer == assignee:
        errors["reviewer"] = ("The reviewer must be someone other than the assignee "
                              "(separation of duties).")
    status = values.get("review_status")
    if status in (REVIEWED, FOLLOW_UP, VENDOR_REJECTED) and status != current:
        # Who may end a review is not a typing mistake: NotAllowed, which callers audit.
        if authority.user == assignee:
            raise NotAllowed("review_status", "The assignee cannot sign the review off; the reviewer "
                                              "sets this (separation of duties).")
        if reviewer and authority.user != reviewer and not authority.governs:
            raise NotAllowed("review_status", f"Only the reviewer (<@{reviewer}>) can end the review.")
        if not reviewer and not authority.governs:
            raise NotAllowed("review_status", "Name a reviewer first: the reviewer ends the review.")


# --- writing -------------------------------------------------------------------------------


def _next_review(pb: Playbook, kind: str, record: Record, *, now: datetime,
                 picked: date | None) -> datetime:
    if picked is not None:
        return datetime.combine(picked, REVIEW_TIME_OF_DAY, tzinfo=pb.tz).astimezone(now.tzinfo)
    tier = record.risk_tier if kind == USECASE else _vendor_tier(record.risk_level)
    cadence: timedelta = pb.documentation.revisit_after(kind, tier)  # type: ignore[arg-type]
    if kind == VENDOR and record.review_status in (FOLLOW_UP, VENDOR_REJECTED):
        cadence = min(cadence, pb.documentation.renudge_after * 10)
    return now + cadence


def _vendor_tier(level: str) -> str:
    return {"high": "high", "medium": "limited", "low": "minimal"}.get(level, "limited")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in values.items()}


def _apply(session: Session, kind: str, record: Record, values: dict[str, Any], *, by: str,
           now: datetime) -> list[str]:
    changed = []
    for name, new in values.items():
        old = getattr(record, name)
        if old == new:
            continue
        setattr(record, name, new)
        _history(session, kind, record, name, old, new, by=by, now=now)
        changed.append(name)
    return changed


def _history(session: Session, kind: str, record: Record, name: str, old: Any, new: Any, *,
             by: str, now: datetime) -> None:
    session.add(RecordChange(record_type=kind, record_id=record.id, field=name,
                             old=_plain({"v": old})["v"], new=_plain({"v": new})["v"], by=by, at=now))


def _stamp_review(session: Session, kind: str, record: Record, *, by: str, now: datetime) -> None:
    _history(session, kind, record, "last_reviewed", record.last_reviewed_at, now, by=by, now=now)
    record.last_reviewed_at, record.last_reviewed_by = now, by


def _move_review(session: Session, kind: str, record: Record, due: datetime, *, by: str,
                 now: datetime) -> None:
    if record.next_review_at != due:
        _history(session, kind, record, "next_review", record.next_review_at, due, by=by, now=now)
        record.next_review_at = due


def _touch(record: Record, now: datetime) -> None:
    record.updated_at = now
    record.state_version += 1


def _set_links(session: Session, kind: str, record_id: int, ids: list[int]) -> None:
    own = UseCaseVendor.use_case_id if kind == USECASE else UseCaseVendor.vendor_id
    session.exec(delete(UseCaseVendor).where(own == record_id))
    for other in ids:
        pair = (record_id, other) if kind == USECASE else (other, record_id)
        session.add(UseCaseVendor(use_case_id=pair[0], vendor_id=pair[1]))
    session.flush()


def _audit(session: Session, kind: str, record: Record, *, now: datetime, actor: str, action: str,
           values: dict[str, Any]) -> None:
    audit.append(session, at=now, actor=actor, action=action, entity_type=kind,
                 entity_id=str(record.id), payload={"ref": ref(kind, record.id), **values})

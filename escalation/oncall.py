"""On-call with overrides made from Slack: who is on call now, the next handoffs, a person's
shifts, and adding or cancelling an override.

Overrides come from two places: the playbook's standing ones, and rows made with
`/ai-oncall override` (table `oncall_override`). `effective_overrides` lists them so that the
last matching one wins (`services.playbook.oncall.on_call`): the playbook's first, then stored
ones oldest first — a stored override beats a playbook one, and among stored ones the latest
created wins. Paging (a rotation step) uses exactly these.

Who may add an override: an admin, or the member being covered — the one person who would be
on call for that rotation during the whole window (rotation and earlier overrides applied).
A window that covers someone else's time, or nobody's, needs an admin. Anyone may be the one
covering. The start may be at most START_SLACK in the past (typing takes time); the end must be
after the start and in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import tzinfo as TzInfo
from typing import Any

from sqlmodel import Session, col, select

from blocks.text import escape
from models.incident import OncallOverride
from services import audit, outbox
from services.playbook.loader import LoadedPlaybook
from services.playbook.oncall import on_call, shift_index, shift_start
from services.playbook.schema import Override, Playbook, Rotation

from .errors import IncidentInputError
from .record import SYSTEM_ACTOR, iso

ENTITY = "oncall_override"
T_OVERRIDE = "oncall_override"
START_SLACK = timedelta(minutes=5)
HORIZON = timedelta(days=730)
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Segment:
    """`user` (None: nobody) is on call from `start` to `end` (excluded); `override` when an
    override, not the rotation, puts them there."""

    start: datetime
    end: datetime
    user: str | None
    override: bool


@dataclass(frozen=True)
class Handoff:
    at: datetime  # aware, in the playbook's time zone
    user: str | None
    override: bool


@dataclass(frozen=True)
class Shift:
    rotation: str
    start: datetime  # aware, in the playbook's time zone
    end: datetime
    override: bool


@dataclass(frozen=True)
class OverrideResult:
    """outcome: added · cancelled · already (cancelled before) · denied (`message` says why)."""

    outcome: str
    message: str
    override: OncallOverride | None
    code: str | None = None


def _playbook(playbook: Playbook | LoadedPlaybook) -> Playbook:
    return playbook.playbook if isinstance(playbook, LoadedPlaybook) else playbook


def _aware(moment: datetime, tz: TzInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def stored_overrides(session: Session, rotation: str) -> list[OncallOverride]:
    """The rotation's live (not cancelled) overrides made from Slack, oldest first."""
    return list(session.exec(
        select(OncallOverride).where(OncallOverride.rotation == rotation, col(OncallOverride.cancelled).is_(False))
        .order_by(col(OncallOverride.created_at), col(OncallOverride.id))
    ).all())


def effective_overrides(session: Session, playbook: Playbook | LoadedPlaybook, rotation: str) -> list[Override]:
    """The playbook's standing overrides of `rotation`, then the stored ones (last wins)."""
    pb = _playbook(playbook)
    stored = [Override.model_construct(rotation=o.rotation, user=o.user, start=o.start, end=o.end)
              for o in stored_overrides(session, rotation)]
    return [*pb.overrides_for(rotation), *stored]


def on_call_now(session: Session, playbook: Playbook | LoadedPlaybook, rotation: str, now: datetime) -> str | None:
    """Who is on call for `rotation` at `now`, overrides applied; None if nobody."""
    pb = _playbook(playbook)
    return on_call(pb.escalation.rotations[rotation], effective_overrides(session, pb, rotation), now, pb.tz)


def _who(rotation: Rotation, overrides: list[Override], at: datetime, tz: TzInfo) -> tuple[str | None, bool]:
    moment = at.astimezone(UTC)
    for override in reversed(overrides):
        start, end = override.interval(tz)
        if start.astimezone(UTC) <= moment < end.astimezone(UTC):
            return override.user, True
    return on_call(rotation, (), at, tz), False


def segments(rotation: Rotation, overrides: list[Override], tz: TzInfo, start: datetime,
             end: datetime) -> list[Segment]:
    """Who is on call from `start` to `end`, as consecutive segments (instants in `tz`)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    bounds = {start}
    if rotation.members:
        index = shift_index(rotation, start, tz) + 1
        while (at := shift_start(rotation, index, tz).astimezone(UTC)) < end:
            bounds.add(at)
            index += 1
    for override in overrides:
        for at in override.interval(tz):
            at = at.astimezone(UTC)
            if start < at < end:
                bounds.add(at)
    ordered = sorted(bounds)
    out: list[Segment] = []
    for begin, finish in zip(ordered, [*ordered[1:], end], strict=True):
        user, via = _who(rotation, overrides, begin, tz)
        if out and out[-1].user == user and out[-1].override == via:
            out[-1] = Segment(out[-1].start, finish.astimezone(tz), user, via)
        else:
            out.append(Segment(begin.astimezone(tz), finish.astimezone(tz), user, via))
    return out


def schedule(session: Session, playbook: Playbook | LoadedPlaybook, rotation: str, now: datetime,
             count: int = 5) -> list[Handoff]:
    """The next `count` moments after `now` when who is on call changes, overrides applied."""
    pb = _playbook(playbook)
    spec = pb.escalation.rotations[rotation]
    overrides = effective_overrides(session, pb, rotation)
    span = spec.shift * (count + 1)
    while True:
        found = segments(spec, overrides, pb.tz, now, now + span)[1:]
        if len(found) >= count or span >= HORIZON:
            return [Handoff(s.start, s.user, s.override) for s in found[:count]]
        span = min(span * 2, HORIZON)


def shifts_of(session: Session, playbook: Playbook | LoadedPlaybook, user: str, now: datetime,
              count: int = 5) -> list[Shift]:
    """`user`'s current and next shifts across every rotation, soonest first, overrides applied."""
    pb = _playbook(playbook)
    found: list[Shift] = []
    for name, spec in pb.escalation.rotations.items():
        overrides = effective_overrides(session, pb, name)
        begin = now - spec.shift
        ends = [_aware(o.end, pb.tz) for o in overrides if o.user == user]
        until = max([now + spec.shift * (max(1, len(spec.members)) * count + 1), *ends])
        until = min(until, now + HORIZON)
        for seg in segments(spec, overrides, pb.tz, begin, until):
            if seg.user == user and seg.end > now:
                found.append(Shift(name, seg.start, seg.end, seg.override))
    found.sort(key=lambda s: (s.start, s.rotation))
    return found[:count]


def override_view(override: OncallOverride, *, covered: list[str | None] | None = None) -> dict[str, Any]:
    return {
        "id": override.id,
        "rotation": override.rotation,
        "user": override.user,
        "start": iso(override.start),
        "end": iso(override.end),
        "created_by": override.created_by,
        "created_at": iso(override.created_at),
        "cancelled": override.cancelled,
        "covered": list(covered) if covered is not None else None,
    }


def _log(session: Session, override: OncallOverride, *, now: datetime, actor: str, action: str,
         **payload: Any) -> None:
    audit.append(session, at=now, actor=actor, action=action, entity_type=ENTITY,
                 entity_id=str(override.id), payload={"rotation": override.rotation, **payload})


def _dm(session: Session, override: OncallOverride, view: dict[str, Any], *, suffix: str, user: str,
        event: dict[str, Any], now: datetime) -> None:
    outbox.enqueue(session, key=f"oncall_override:{override.id}:{suffix}:{user}", method="chat.postMessage",
                   channel=user, template=T_OVERRIDE,
                   payload={"override": view, "event": event, "recipient": user}, now=now)


def add_override(
    session: Session,
    *,
    playbook: Playbook | LoadedPlaybook,
    rotation: str,
    user: str,
    start: datetime,
    end: datetime,
    created_by: str,
    now: datetime,
    is_admin: bool = False,
) -> OverrideResult:
    """`user` is on call for `rotation` from `start` to `end` (naive times: playbook time zone).

    Bad input raises IncidentInputError (nothing written); a refusal is an audited denial.
    """
    pb = _playbook(playbook)
    errors: dict[str, str] = {}
    if rotation not in pb.escalation.rotations:
        known = ", ".join(pb.escalation.rotations) or "none"
        errors["rotation"] = f"'{escape(rotation, 100)}' is not a rotation in the playbook; use one of: {known}."
    if not _USER.match(user or ""):
        errors["user"] = "The person on call must be a Slack user (an ID like U01ABCDEF)."
    start, end = _aware(start, pb.tz).astimezone(UTC), _aware(end, pb.tz).astimezone(UTC)
    if end <= start:
        errors["end"] = "The end must be after the start."
    elif end <= now:
        errors["end"] = "That window is already over; an override must end in the future."
    if start < now - START_SLACK:
        errors["start"] = "The start is in the past; an override starts now or later."
    if errors:
        raise IncidentInputError.collect(errors)

    spec = pb.escalation.rotations[rotation]
    covered = list(dict.fromkeys(
        s.user for s in segments(spec, effective_overrides(session, pb, rotation), pb.tz, start, end)))
    if not is_admin and covered != [created_by]:
        if created_by not in covered:
            message = (f"You are not on call for {rotation} in that window; only the member being covered "
                       f"or a Countersign admin can set an override.")
        else:
            others = ", ".join(f"<@{u}>" for u in covered if u and u != created_by) or "nobody"
            message = (f"That window also covers time when you are not on call for {rotation} ({others}); "
                       f"cover only your own shift, or ask a Countersign admin.")
        audit.append(session, at=now, actor=created_by, action="oncall.override_denied", entity_type=ENTITY,
                     entity_id=rotation, payload={"rotation": rotation, "user": user, "start": iso(start),
                                                  "end": iso(end), "covered": covered, "reason": message})
        return OverrideResult("denied", message, None, "not_covered_member")

    override = OncallOverride(rotation=rotation, user=user, start=start, end=end, created_by=created_by,
                              created_at=now)
    session.add(override)
    session.flush()
    _log(session, override, now=now, actor=created_by, action="oncall.override_added", user=user,
         start=iso(start), end=iso(end), covered=covered, by_admin=is_admin and covered != [created_by])
    view = override_view(override, covered=covered)
    happened = {"type": "override_added", "actor": created_by, "at": iso(now)}
    for person in dict.fromkeys([user, *(u for u in covered if u)]):
        if person != created_by:
            _dm(session, override, view, suffix="added", user=person, event=happened, now=now)
    local = f"{start.astimezone(pb.tz):%a %d %b %H:%M} – {end.astimezone(pb.tz):%a %d %b %H:%M} ({pb.timezone})"
    return OverrideResult("added", f"<@{user}> is on call for {rotation} {local}.", override)


def cancel_override(session: Session, *, override_id: int, user: str, now: datetime,
                    is_admin: bool = False) -> OverrideResult:
    """Withdraw an override: its creator, the person covering, or an admin."""
    override = session.get(OncallOverride, override_id, with_for_update=True, populate_existing=True)
    if override is None:
        raise IncidentInputError("override_id", f"There is no on-call override #{override_id}.")
    if user not in (override.created_by, override.user) and not is_admin:
        message = "Only whoever set this override, the person covering, or a Countersign admin can cancel it."
        _log(session, override, now=now, actor=user, action="oncall.override_denied", attempted="cancel",
             reason=message)
        return OverrideResult("denied", message, override, "not_allowed")
    if override.cancelled:
        return OverrideResult("already", "This override was already cancelled.", override)
    override.cancelled = True
    session.add(override)
    session.flush()
    _log(session, override, now=now, actor=user or SYSTEM_ACTOR, action="oncall.override_cancelled",
         user=override.user)
    view = override_view(override)
    happened = {"type": "override_cancelled", "actor": user, "at": iso(now)}
    for person in dict.fromkeys([override.user, override.created_by]):
        if person != user:
            _dm(session, override, view, suffix="cancelled", user=person, event=happened, now=now)
    return OverrideResult("cancelled", "Cancelled; the rotation's schedule applies again.", override)

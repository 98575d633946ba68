"""Firing a step of the chain (the `incident.step` timer handler).

The handler runs in the transaction that marks its timer done (bot/timer_runner.py), locks the
incident, and does nothing unless the incident is still open and the timer belongs to the
current escalation run: an acknowledgement, a resolve, or a restart makes every older step
timer stale and harmless — the token Grafana OnCall calls the active escalation id.

A step resolves its target at firing time (engine.resolve_target over the incident's roster,
with the effective overrides: the frozen standing ones plus those made from Slack). Each page
is an `IncidentPage` row inserted with ON CONFLICT DO NOTHING — the unique (incident, run,
round, step, recipient) is the last line of defence against a double page — and only a newly
inserted row owes its DM. An empty target is skipped at once (governance told) and the next
step fires in the same transaction. Then the next step's timer is set at now + this step's
wait (none after a step without wait: it waits for an acknowledgement forever); after the
last step of the last round the same kind of timer, marked `exhausted`, reports the chain
run out to governance and the admins if nobody has acknowledged by then.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from models.incident import OPEN, Incident, IncidentPage
from models.timer import Timer
from services.playbook.snapshot import EscalationChain
from services.rows import insert_unless_exists

from . import record
from .engine import Position, Reach, next_step, resolve_target, rounds, step_at
from .oncall import effective_overrides
from .queries import for_timer, paged_users
from .roster import roster_of
from .views import incident_view

log = logging.getLogger(__name__)


def fire_step(session: Session, timer: Timer, now: datetime) -> None:
    incident = for_timer(session, timer.ref)
    if incident is None:
        log.warning("timer %s for unknown incident %r", timer.kind, timer.ref)
        return
    payload = timer.payload or {}
    if incident.status != OPEN or payload.get("run") != incident.escalation_run:
        return  # acknowledged, resolved, or restarted since this timer was set
    chain = record.chain_of(incident)
    if payload.get("exhausted"):
        exhaust(session, incident, chain, now=now)
        return
    roster = roster_of(incident)
    overrides = {name: effective_overrides(session, roster.playbook, name)
                 for name in roster.playbook.escalation.rotations}
    position: Position | None = Position(int(payload["round"]), int(payload["step"]))
    while position is not None:
        step = step_at(chain, position)
        reach = resolve_target(step.notify, playbook=roster.playbook, now=now, group_members=roster.groups,
                               overrides=overrides)
        if reach.empty:
            skip(session, incident, position, reach, now=now)
            position = next_step(chain, *position)
            continue
        page(session, incident, position, reach, now=now)
        if step.wait is None:
            return  # the last step waits for an acknowledgement for ever
        following = next_step(chain, *position)
        if following is None:
            record.schedule_step(session, incident, due_at=now + step.wait, now=now, exhausted=True)
        else:
            record.schedule_step(session, incident, due_at=now + step.wait, now=now,
                                 round=following.round, step=following.step)
        return
    exhaust(session, incident, chain, now=now)


def page(session: Session, incident: Incident, position: Position, reach: Reach, *, now: datetime) -> list[str]:
    """Record and send the pages of one step; returns the recipients newly paged."""
    run = incident.escalation_run
    earlier = set(paged_users(session, incident))
    recipients = [(None, reach.channel)] if reach.channel else [(user, user) for user in reach.users]
    fresh: list[tuple[str | None, str, str]] = []
    for user, recipient in recipients:
        suffix = f"page:{run}:{position.round}:{position.step}:{recipient}"
        if insert_unless_exists(session, IncidentPage, {
            "incident_id": incident.id, "run": run, "round": position.round, "step": position.step,
            "target": reach.target, "user": user, "recipient": recipient, "at": now,
            "outbox_key": record.key(incident, suffix),
        }, unique=["incident_id", "run", "round", "step", "recipient"]):
            fresh.append((user, recipient, suffix))
    if not fresh:
        return []
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    for user, recipient, _ in fresh:
        record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.paged",
                   round=position.round, step=position.step, target=reach.target, user=user,
                   channel=None if user else recipient)
    view = incident_view(session, incident)
    where = record.place(incident)
    for user, recipient, suffix in fresh:
        happened = record.event("paged", actor=None, now=now, round=position.round, step=position.step,
                                target=reach.target, user=user, channel=None if user else recipient)
        record.post(session, incident, view, suffix=suffix, template=record.T_PAGE, channel=recipient,
                    event=happened, now=now, recipient=recipient)
        if user and incident.channel and user not in earlier and user != incident.reporter:
            record.call(session, incident, suffix=f"invite:{user}", method="conversations.invite",
                        channel=incident.channel, args={"channel": incident.channel, "users": user}, now=now)
    users = [user for user, _, _ in fresh if user]
    channels = [recipient for user, recipient, _ in fresh if not user and recipient != where.channel]
    happened = record.event("paged", actor=None, now=now, round=position.round, step=position.step,
                            target=reach.target, users=users, channels=channels)
    if users or channels:
        record.to_place(session, incident, view, suffix=f"page-notice:{run}:{position.round}:{position.step}",
                        template=record.T_PAGE_NOTICE, event=happened, now=now)
    record.update_summary(session, incident, view, event=happened, now=now)
    return [recipient for _, recipient, _ in fresh]


def skip(session: Session, incident: Incident, position: Position, reach: Reach, *, now: datetime) -> None:
    """Nobody to page at this step: say so to governance and move on at once."""
    run = incident.escalation_run
    record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.step_skipped",
               round=position.round, step=position.step, target=reach.target, reason=reach.reason)
    view = incident_view(session, incident)
    happened = record.event("step_skipped", actor=None, now=now, round=position.round, step=position.step,
                            target=reach.target, reason=reach.reason)
    record.post(session, incident, view, suffix=f"skipped:{run}:{position.round}:{position.step}",
                template=record.T_STEP_SKIPPED, channel=record.governance(incident), event=happened, now=now)


def exhaust(session: Session, incident: Incident, chain: EscalationChain, *, now: datetime) -> None:
    """The chain ran out with nobody acknowledging: governance and every admin are told.

    The incident stays open: anyone paged (or an admin) can still acknowledge it.
    """
    run = incident.escalation_run
    admins = list(record.roster_admins(incident))
    record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.exhausted",
               rounds=rounds(chain), steps=len(chain.steps), admins=admins)
    view = incident_view(session, incident)
    happened = record.event("exhausted", actor=None, now=now, rounds=rounds(chain), admins=admins)
    record.post(session, incident, view, suffix=f"exhausted:{run}", template=record.T_EXHAUSTED,
                channel=record.governance(incident), event=happened, now=now)
    for admin in admins:
        record.direct(session, incident, view, suffix=f"exhausted:{run}:{admin}", template=record.T_EXHAUSTED,
                      user=admin, event=happened, now=now)

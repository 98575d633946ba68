"""On PostgreSQL, racing processes never double a page, never page after an acknowledgement
commits, and never record two acknowledgements."""

from collections import Counter
from datetime import timedelta

import pytest
from incident_world import (
    MINUTE,
    PAGES_PER_RUN,
    PB,
    T0,
    make_runner,
    open_incident,
    pages,
)
from sqlmodel import col, func, select

import escalation
from bot.clock import ManualClock
from models.audit import AuditEvent
from models.incident import Incident, IncidentPage
from models.outbox import OutboxMessage
from services import timers
from tests.harness.race import race

pytestmark = pytest.mark.postgres


def test_two_schedulers_over_many_incidents_fire_every_step_exactly_once(pg_db):
    count = 200
    ids = [open_incident(pg_db, "sev2", title=f"Incident {n}") for n in range(count)]
    clocks = [ManualClock(T0), ManualClock(T0)]
    runners = [make_runner(pg_db, clock, owner=f"clock-{i}") for i, clock in enumerate(clocks)]

    def drain(runner):
        def go():
            fired = 0
            while n := runner.sweep(limit=7):
                fired += n
            return fired
        return go

    fired = Counter()
    at = T0
    while at <= T0 + timedelta(minutes=65):
        for clock in clocks:
            clock.set(at)
        for i, n in enumerate(race([drain(runners[0]), drain(runners[1])])):
            fired[f"clock-{i}"] += n
        at += MINUTE

    expected = {(iid, 1, rnd, step, user) for iid in ids for _, rnd, step, users in PAGES_PER_RUN for user in users}
    with pg_db.session() as s:
        rows = [(p.incident_id, p.run, p.round, p.step, p.user) for p in s.exec(select(IncidentPage)).all()]
        dms = Counter(s.exec(select(OutboxMessage.key).where(OutboxMessage.template == "incident_page",
                                                             OutboxMessage.method == "chat.postMessage")).all())
        paged_events = Counter(
            (e.entity_id, e.payload["round"], e.payload["step"], e.payload["user"])
            for e in s.exec(select(AuditEvent).where(AuditEvent.action == "incident.paged")).all())
        exhausted = s.exec(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "incident.exhausted")).one()
    duplicates = (len(rows) - len(set(rows))) + sum(n - 1 for n in dms.values()) + sum(
        n - 1 for n in paged_events.values())
    missed = len(expected - set(rows))
    print(f"\n{count} incidents, two schedulers: {len(rows)} pages recorded, {len(dms)} page DMs owed, "
          f"{sum(paged_events.values())} paged events (expected {len(expected)} each); duplicates {duplicates}, "
          f"missed {missed}; fired by clock-0 {fired['clock-0']}, clock-1 {fired['clock-1']}")
    assert (duplicates, missed) == (0, 0)
    assert len(rows) == len(dms) == sum(paged_events.values()) == len(expected)
    assert exhausted == count
    assert fired["clock-0"] > 0 and fired["clock-1"] > 0  # both took a share


def test_an_acknowledgement_racing_a_due_step_never_lets_a_page_commit_after_it(pg_db):
    outcomes = Counter()
    for round_ in range(40):
        iid = open_incident(pg_db, "sev2", title=f"Race {round_}")
        clock = ManualClock(T0)
        runner = make_runner(pg_db, clock, owner=f"r{round_}")
        assert runner.sweep() == 1  # step 1 pages U0PRI1 at t0
        clock.set(T0 + 5 * MINUTE)  # step 2 is due
        seen: dict[str, int] = {}

        def step2_pages():
            with pg_db.session() as s:
                return s.exec(select(func.count()).select_from(IncidentPage)
                              .where(IncidentPage.incident_id == iid, IncidentPage.step == 2)).one()

        claimed = None
        if round_ % 2:  # odd rounds: the step is already claimed, its effect about to commit
            with pg_db.session() as s:
                [claimed] = timers.claim_due(s, now=clock.now(), owner=runner.owner, lease=runner.lease,
                                             kinds=["incident.step"])

        def fire():
            if claimed is None:
                return runner.sweep()
            with pg_db.session() as s:  # what TimerRunner does with a claimed timer
                if not timers.complete(s, claimed.id, owner=runner.owner, now=clock.now()):
                    return 0
                escalation.fire_step(s, claimed, clock.now())
                return 1

        def acknowledge():
            with pg_db.session() as s:
                outcome = escalation.acknowledge(s, incident_id=iid, user="U0PRI1", now=T0 + 5 * MINUTE)
            seen["after_ack_commit"] = step2_pages()  # anything committed later would be a bug
            return outcome.outcome

        fired, acked = race([fire, acknowledge])
        assert acked == "acknowledged"
        final = step2_pages()
        assert final == seen["after_ack_commit"] == fired, (fired, seen, final)
        # a step the acknowledgement could not cancel in time finds the incident acknowledged
        clock.set(T0 + timedelta(hours=3))
        while runner.sweep():
            pass
        assert len(pages(pg_db, iid)) == 1 + fired
        how = "claimed" if claimed is not None else "swept"
        outcomes[f"{how}, paged first" if fired else f"{how}, acknowledged first"] += 1
    print(f"\nack racing a due step, 40 rounds: {dict(outcomes)}")
    assert sum(outcomes.values()) == 40


def test_two_people_pressing_acknowledge_at_once_make_one_acknowledgement(pg_db):
    winners = Counter()
    for round_ in range(20):
        iid = open_incident(pg_db, "sev2", title=f"Double ack {round_}")
        clock = ManualClock(T0)
        runner = make_runner(pg_db, clock)
        runner.sweep()
        clock.set(T0 + 5 * MINUTE)
        runner.sweep()  # U0PRI1 and U0SEC1 have both been paged

        def press(user):
            def go():
                with pg_db.session() as s:
                    outcome = escalation.acknowledge(s, incident_id=iid, user=user, now=T0 + 6 * MINUTE)
                    return outcome.outcome, outcome.by, outcome.message
            return go

        results = race([press("U0PRI1"), press("U0SEC1")])
        kinds = sorted(r[0] for r in results)
        assert kinds == ["acknowledged", "already"], results
        with pg_db.session() as s:
            inc = s.get(Incident, iid)
            acks = s.exec(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity_id == str(iid), AuditEvent.action == "incident.acknowledged")).one()
        winner = inc.acknowledged_by
        loser = next(r for r in results if r[0] == "already")
        assert loser[1] == winner and f"<@{winner}> already acknowledged" in loser[2]
        assert acks == 1
        winners[winner] += 1
    print(f"\ntwo presses at once, 20 rounds: winners {dict(winners)}")


def test_incidents_opened_at_once_with_one_title_get_distinct_channel_names(pg_db):
    def opener():
        with pg_db.session() as s:
            return escalation.open_incident(s, playbook=PB, severity="sev1", title="Data leak", reporter="U0REP",
                                            now=T0).channel_name

    names = race([opener] * 6)
    assert sorted(names) == sorted(["ai-inc-20260302-data-leak"] + [f"ai-inc-20260302-data-leak-{n}"
                                                                    for n in range(2, 7)])
    with pg_db.session() as s:
        assert s.exec(select(func.count()).select_from(Incident).where(col(Incident.channel_name).is_not(None))).one() == 6

"""Incidents scaled out: two clocks both sweeping the escalation timers (no leader) page each
step once, and many people pressing Acknowledge on one page at once, on three web processes
with Slack's retries racing, make one acknowledgement. The service-level races are proven in
tests/integration/escalation/test_incident_races_pg.py; this is the same over real HTTP."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlmodel import col, select

from blocks.incidents import ACK
from models.audit import AuditEvent
from models.incident import ACKNOWLEDGED, Incident
from models.timer import FIRING, PENDING, Timer
from tests.e2e.waiting import outbox_drained, until
from tests.reliability import deliveries
from tests.reliability.fleet import (  # noqa: F401  (fixture)
    ATTEMPTS,
    WAIT,
    Sends,
    answers,
    apologized,
    fleet,
    posted_keys,
    posted_matching,
    stored_with_key,
)

# Five bot processes on a loaded machine, and a wait for each escalation step: minutes, beyond
# the suite's default per-test timeout.
pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.timeout(600)]

SEED = 20260311
INCIDENTS = 6  # the first three acknowledged while only the primary is paged, the rest at the end
REPORTER = "U0REPORTER"
ADMIN = "U0ADMIN"
INCIDENTS_CHANNEL = "C0INC"
STEP_2_AT, STEP_3_AT = 5 * 60 + 1, 10 * 60 + 2
PAGED_BY_STEP = {1: ["U0PRI1"], 2: ["U0SEC1"], 3: ["U0LEAD1", "U0LEAD2"]}
RETRY_SHARE = 0.4
OPENED = re.compile(r"^AI incident #(\d+) ")
# (incident, who presses, a new delivery of the press: a second press after an apology is new)
Press = tuple[int, str, Callable[[], deliveries.Delivery]]
PAGE = re.compile(r"incident:(\d+):page:(\d+):(\d+):(\d+):(\w+)")


def pages(fake) -> list[tuple[int, int, str]]:  # noqa: ANN001
    """(incident, step, user) of every page DM sent, once per send."""
    found = []
    for key, n in posted_keys(fake).items():
        if m := PAGE.fullmatch(key):
            found += [(int(m[1]), int(m[4]), m[5])] * n
    return found


def wait_pages(fake, wanted: set[tuple[int, int, str]], what: str) -> None:  # noqa: ANN001
    until(lambda: wanted <= set(pages(fake)), timeout=WAIT, what=what)


def page_dm(fake, iid: int, user: str) -> dict:  # noqa: ANN001
    [message] = stored_with_key(fake, user, rf"incident:{iid}:page:1:\d+:\d+:{user}").values()
    return message


def summary(fake, iid: int) -> dict:  # noqa: ANN001
    return stored_with_key(fake, INCIDENTS_CHANNEL, rf"incident:{iid}:summary")[f"incident:{iid}:summary"]


@dataclass
class Run:
    rng: random.Random
    violations: list[str] = field(default_factory=list)
    sent: int = 0
    asks: list[tuple[deliveries.Delivery, Sends]] = field(default_factory=list)
    presses: list[tuple[int, str, deliveries.Delivery, Sends]] = field(default_factory=list)


def settled(fake, deliveries_sent) -> bool:  # noqa: ANN001
    return all(answers(fake, d) or apologized(fake, d, sent) for d, sent in deliveries_sent)


def open_incidents(fleet, fake, run: Run) -> list[int]:  # noqa: ANN001
    """Every /ai-incident raced by its retry on the next process; one the bot apologised for
    (its database did not take it in time) is reported again. The incident ids told."""
    missing = list(range(INCIDENTS))
    for _ in range(ATTEMPTS):
        asks = {n: deliveries.command(fake, "/ai-incident", f"sev2 Concurrency {n}", user_id=REPORTER,
                                      channel_id="C0TEAM") for n in missing}
        sent = fleet.send_all(run.rng, list(asks.values()), retry_share=1.0)
        run.violations += sent.not_ok()
        run.asks += [(d, sent) for d in asks.values()]
        until(lambda: settled(fake, [(d, sent) for d in asks.values()]), timeout=WAIT,
              what="an answer to every /ai-incident")
        missing = [n for n, d in asks.items() if not answers(fake, d)]
        if not missing:
            break
    assert not missing, f"{len(missing)} of {INCIDENTS} incidents not opened in {ATTEMPTS} attempts"
    ids = incident_ids_told(fake, run, check=False)  # checked once the run has settled
    until(lambda: {f"incident:{iid}:summary" for iid in ids} <= set(stored_with_key(
        fake, INCIDENTS_CHANNEL, r"incident:\d+:summary")), timeout=WAIT, what="every incident's summary")
    return ids


def incident_ids_told(fake, run: Run, *, check: bool = True) -> list[int]:  # noqa: ANN001
    told = []
    for d, _ in run.asks:
        said = answers(fake, d)
        if check and len(said) > 1:
            run.violations.append(f"{d.label} ({d.trigger_id}) answered {len(said)} times")
        told += [int(m[1]) for a in said[:1] if (m := OPENED.match(a.get("text", "")))]
    return sorted(told)


def press_all(fleet, fake, run: Run, presses: list[Press]) -> None:  # noqa: ANN001
    """Every press at once, each to a process picked at random, a share of them retried by Slack
    on another process at the same instant; one only apologised for is pressed again."""
    for _ in range(ATTEMPTS):
        if not presses:
            break
        batch = [(iid, user, press, press()) for iid, user, press in presses]
        sent = fleet.send_all(run.rng, [d for *_, d in batch], RETRY_SHARE)
        run.violations += sent.not_ok()
        run.sent += sent.count
        until(lambda: settled(fake, [(d, sent) for *_, d in batch]), timeout=WAIT,
              what="an answer to every Acknowledge press")
        run.presses += [(iid, user, d, sent) for iid, user, _, d in batch]
        presses = [(iid, user, press) for iid, user, press, d in batch if told(fake, d, sent) == "apologised"]


def told(fake, d, sent) -> str:  # noqa: ANN001
    said = answers(fake, d)
    if not said:
        return "apologised" if apologized(fake, d, sent) else "unanswered"
    return "won" if said[0].get("text", "").startswith("You acknowledged") else "refused"


def ack_presses(fake, iid: int, paged: list[str]) -> list[Press]:  # noqa: ANN001
    """Everyone paged presses their page (the primary twice), the admin and a lead not yet
    paged press the summary in the incidents channel."""
    presses = []
    for user in paged:
        page = page_dm(fake, iid, user)
        for _ in range(2 if user == "U0PRI1" else 1):
            presses.append((iid, user, lambda u=user, m=page: deliveries.click(
                fake, ACK, user_id=u, channel_id=f"D{u[1:]}", message=m)))
    for user in [ADMIN] + (["U0LEAD1"] if "U0LEAD1" not in paged else []):
        presses.append((iid, user, lambda u=user, m=summary(fake, iid): deliveries.click(
            fake, ACK, user_id=u, channel_id=INCIDENTS_CHANNEL, message=m)))
    return presses


def test_two_clocks_page_each_step_once_and_racing_acknowledges_make_one(fleet, fake_slack, clock_file, db):
    run = Run(random.Random(SEED))
    ids = open_incidents(fleet, fake_slack, run)
    # A second incident for one report (an apologised report whose Slack retry made it after
    # all) is nobody's to acknowledge: it pages its whole chain.
    early, late, unattended = ids[:3], ids[3:INCIDENTS], ids[INCIDENTS:]
    wait_pages(fake_slack, {(iid, 1, "U0PRI1") for iid in ids}, "the first step's pages")
    early_presses = [p for iid in early for p in ack_presses(fake_slack, iid, PAGED_BY_STEP[1])]
    press_all(fleet, fake_slack, run, early_presses)

    for step, at in ((2, STEP_2_AT), (3, STEP_3_AT)):
        drain_before_jump(db)
        clock_file.write_text(str(at))
        wait_pages(fake_slack, {(iid, step, u) for iid in late + unattended for u in PAGED_BY_STEP[step]},
                   f"step {step}'s pages")
    everyone = [u for step in sorted(PAGED_BY_STEP) for u in PAGED_BY_STEP[step]]
    press_all(fleet, fake_slack, run, [p for iid in late for p in ack_presses(fake_slack, iid, everyone)])

    # Long after the chain's end: nothing may page an acknowledged incident. Timer rows are the
    # timers, so none may be left to fire; the drained outbox holds every page owed.
    drain_before_jump(db)
    clock_file.write_text(str(3 * 3600))
    until(lambda: acknowledged(db) == len(early + late), timeout=WAIT, what="every incident acknowledged")
    until(lambda: not live_steps(db), timeout=WAIT, what="no escalation step left to fire")
    until(lambda: outbox_drained(db), timeout=WAIT, what="the outbox to drain")

    expected = Counter((iid, 1, "U0PRI1") for iid in ids) + Counter(
        (iid, step, u) for iid in late + unattended for step in (2, 3) for u in PAGED_BY_STEP[step])
    got = Counter(pages(fake_slack))
    run.violations += [f"incident #{i} step {s} paged {u} {got[(i, s, u)]} times (expected {n})"
                       for (i, s, u), n in (expected | got).items() if got[(i, s, u)] != expected[(i, s, u)]]
    run.violations += [f"{k} posted {n} times" for k, n in posted_keys(fake_slack).items() if n > 1]
    with db.session() as s:
        incidents = {i.id: i for i in s.exec(select(Incident)).all()}
        events = s.exec(select(AuditEvent).where(col(AuditEvent.entity_type) == "incident")).all()
    if sorted(incidents) != incident_ids_told(fake_slack, run):
        run.violations.append(f"incidents {sorted(incidents)}, but the reporter was told {ids}")
    said = Counter(told(fake_slack, d, sent) for *_, d, sent in run.presses)
    if said["unanswered"]:
        run.violations.append(f"{said['unanswered']} Acknowledge presses never answered")
    for iid in early + late:
        mine = [(u, d) for i, u, d, _ in run.presses if i == iid]
        run.violations += check_incident(fake_slack, incidents[iid], [e for e in events if e.entity_id == str(iid)],
                                         mine)
    run.violations += fleet.problems()

    print(f"\nconcurrency, incidents: {run.sent} concurrent Acknowledge clicks sent ({len(run.presses)} presses, "
          f"{run.sent - len(run.presses)} Slack retries racing them) on {len(early + late)} incidents, told "
          f"{dict(said)}; {sum(got.values())} pages by {len(fleet.clocks)} leaderless clocks (expected "
          f"{sum(expected.values())}); invariant violations: {len(run.violations)}")
    assert run.violations == [], "\n".join(run.violations)


def acknowledged(db) -> int:  # noqa: ANN001
    with db.session() as s:
        return len(s.exec(select(Incident).where(Incident.status == ACKNOWLEDGED)).all())


def live_steps(db) -> list[Timer]:  # noqa: ANN001
    with db.session() as s:
        return s.exec(select(Timer).where(Timer.kind == "incident.step",
                                          col(Timer.status).in_([PENDING, FIRING]))).all()


def check_incident(fake, incident, events, presses) -> list[str]:  # noqa: ANN001
    iid, bad = incident.id, []
    acks = [e for e in events if e.action == "incident.acknowledged"]
    if len(acks) != 1:
        bad.append(f"incident #{iid}: {len(acks)} acknowledgements recorded")
    winners = []
    for user, d in presses:
        said = answers(fake, d)
        if len(said) > 1:
            bad.append(f"incident #{iid}: {d.label} ({d.trigger_id}) answered {len(said)} times")
        elif said and said[0].get("text", "").startswith("You acknowledged"):
            winners.append(user)
    if len(winners) != 1 or winners[0] != incident.acknowledged_by:
        bad.append(f"incident #{iid}: acknowledged by {incident.acknowledged_by}, told {winners} they won")
    if (n := sum(posted_matching(fake, rf"incident:{iid}:acknowledged:v\d+").values())) != 1:
        bad.append(f"incident #{iid}: {n} acknowledgement notices posted")
    return bad


def drain_before_jump(db) -> None:  # noqa: ANN001
    """The outbox's leases run on the injected clock: a jump longer than a lease while a notice
    is in flight expires it and lets the other clock send that notice again, an artefact of
    moving time that no real clock makes. So the clock moves only with nothing in flight."""
    until(lambda: outbox_drained(db), timeout=WAIT, what="the outbox to drain before the clock moves")

"""Many approvers clicking many sign-off requests at once, spread over three web processes with
two working clocks on one PostgreSQL schema, while Slack's retries of the same deliveries race
their originals on other processes. The service-level races are proven in
tests/integration/approvals/test_approvals_races_pg.py; this is the same guarantee over real
HTTP, across processes, down to what Slack is sent."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlmodel import col, select

from blocks.approvals import APPROVE, REJECT
from models.approval import ApprovalRequest, ApprovalVote
from models.audit import AuditEvent
from tests.e2e.waiting import outbox_drained, until
from tests.reliability import deliveries
from tests.reliability.fleet import (  # noqa: F401  (fixture)
    APOLOGY,
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

# Every message to one channel goes out in order, one at a time: on a loaded machine draining
# the approvals channel alone takes minutes, far beyond the suite's default per-test timeout.
pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.timeout(600)]

SEED = 20260310
REQUESTS = 20
APPROVERS = [f"U0REV{n}" for n in range(1, 6)]
REQUIRED = 2
REJECT_SHARE = 0.15
RETRY_SHARE = 0.35
DOUBLE_CLICK_SHARE = 0.25
REQUESTER = "U0DEV"
APPROVALS = "C0APPROVE"
FINAL = ("approved", "rejected")
OPENED = re.compile(r"^Sign-off #(\d+) requested in")


@dataclass
class Run:
    """What was sent, for the checks (made once the run has settled: a delivery the bot
    apologised for may still be done by its Slack retry) and the figure."""
    rng: random.Random
    violations: list[str] = field(default_factory=list)
    clicks_sent: int = 0
    retries_sent: int = 0
    asks: list[tuple[deliveries.Delivery, Sends]] = field(default_factory=list)
    # request → (user, "approve" | "reject", delivery, what its sends got back)
    clicks: dict[int, list[tuple[str, str, deliveries.Delivery, Sends]]] = field(default_factory=dict)


def settled(fake, deliveries_sent) -> bool:  # noqa: ANN001
    return all(answers(fake, d) or apologized(fake, d, sent) for d, sent in deliveries_sent)


def open_requests(fleet, fake, run: Run) -> dict[int, dict]:  # noqa: ANN001
    """Every /ai-approve raced by its retry on the next process; one the bot apologised for is
    asked again. Request id → its message in the channel."""
    missing = list(range(REQUESTS))
    for _ in range(ATTEMPTS):
        asks = {n: deliveries.command(fake, "/ai-approve", f"pair https://github.com/acme/app/pull/{n} Race {n}",
                                      user_id=REQUESTER, channel_id="C0TEAM") for n in missing}
        sent = fleet.send_all(run.rng, list(asks.values()), retry_share=1.0)
        run.violations += sent.not_ok()
        run.asks += [(d, sent) for d in asks.values()]
        until(lambda: settled(fake, [(d, sent) for d in asks.values()]), timeout=WAIT,
              what="an answer to every /ai-approve")
        missing = [n for n, d in asks.items() if not answers(fake, d)]
        if not missing:
            break
    assert not missing, f"{len(missing)} of {REQUESTS} requests not opened in {ATTEMPTS} attempts"
    told = request_ids_told(fake, run, check=False)  # checked once the run has settled
    until(lambda: {f"approval:{rid}:r1:post" for rid in told} <= set(stored_with_key(
        fake, APPROVALS, r"approval:\d+:r1:post")), timeout=WAIT, what="every request message")
    posts = stored_with_key(fake, APPROVALS, r"approval:\d+:r1:post")
    return {rid: posts[f"approval:{rid}:r1:post"] for rid in told}


def request_ids_told(fake, run: Run, *, check: bool = True) -> list[int]:  # noqa: ANN001
    """The requests the asking person was told were opened, one per answered ask."""
    told = []
    for d, _ in run.asks:
        said = answers(fake, d)
        if check and len(said) > 1:
            run.violations.append(f"{d.label} ({d.trigger_id}) answered {len(said)} times")
        told += [int(m[1]) for a in said[:1] if (m := OPENED.match(a.get("text", "")))]
    return told


def reason_modals(fleet, fake, messages, rejecters, run: Run) -> dict[tuple[int, str], str]:  # noqa: ANN001
    """Rejecters press Reject (a modal opens, nothing is decided yet): (request, user) → the
    private_metadata of the modal the bot opened for that press."""
    modals: dict[tuple[int, str], str] = {}
    for _ in range(ATTEMPTS):
        presses = {(rid, u): deliveries.click(fake, REJECT, user_id=u, channel_id=APPROVALS, message=messages[rid])
                   for rid, u in rejecters if (rid, u) not in modals}
        if not presses:
            break
        sent = fleet.send_all(run.rng, list(presses.values()), retry_share=0)
        run.violations += sent.not_ok()
        run.clicks_sent += sent.count
        triggers = {d.trigger_id: key for key, d in presses.items()}

        def opened() -> dict[str, str]:
            return {c.args["trigger_id"]: c.args["view"]["private_metadata"] for c in fake.calls_to("views.open")
                    if c.args.get("trigger_id") in triggers}

        until(lambda: all(d.trigger_id in opened() or apologized(fake, d, sent) for d in presses.values()),
              timeout=WAIT, what="a reason modal for every Reject press")
        modals.update({triggers[t]: metadata for t, metadata in opened().items()})
    assert len(modals) == len(rejecters), "a Reject press never opened its modal"
    return modals


def decide_all(fleet, fake, messages, decisions, modals, run: Run) -> None:  # noqa: ANN001
    """Every decision of every request at once: Approve presses (a share doubled by the same
    person, a share retried by Slack on another process) and reason submissions for rejections.
    Whoever was only told the database could not take it tries again."""
    todo = [(rid, user, decision) for rid, by in decisions.items() for user, decision in by.items()]
    for _ in range(ATTEMPTS):
        if not todo:
            break
        batch: list[tuple[int, str, str, deliveries.Delivery]] = []
        for rid, user, decision in todo:
            if decision == "reject":
                batch.append((rid, user, decision, deliveries.submission(
                    "approval_reason", {"reason": {"value": {"type": "plain_text_input", "value": "Leaks a key"}}},
                    user_id=user, private_metadata=modals[(rid, user)])))
                continue
            for _ in range(2 if run.rng.random() < DOUBLE_CLICK_SHARE else 1):
                batch.append((rid, user, decision, deliveries.click(fake, APPROVE, user_id=user, channel_id=APPROVALS,
                                                                    message=messages[rid])))
        # Slack never retries a modal submission (the person sees the error); clicks it does.
        submissions = frozenset(d.trigger_id for _, _, decision, d in batch if decision == "reject")
        sent = fleet.send_all(run.rng, [d for *_, d in batch], RETRY_SHARE, never_retried=submissions)
        run.violations += sent.not_ok()
        run.clicks_sent += sent.count
        run.retries_sent += sent.count - len(batch)
        until(lambda: settled(fake, [(d, sent) for _, _, decision, d in batch if decision == "approve"]),
              timeout=WAIT, what="an answer to every Approve press")
        for rid, user, decision, d in batch:
            run.clicks.setdefault(rid, []).append((user, decision, d, sent))
        todo = list(dict.fromkeys((rid, user, decision) for rid, user, decision, d in batch
                                  if told(fake, d, decision, sent) == "apologised"))


def told(fake, d, decision, sent) -> str:  # noqa: ANN001
    """What the person was told of one click: decided, recorded, refused or apologised."""
    if decision == "reject":
        [answer] = sent.http[d.trigger_id]
        if APOLOGY in answer.text:
            return "apologised"
        # the modal closes: the rejection counted, and decided the request
        return "decided" if answer.text in ("", "null") else "refused"
    said = answers(fake, d)
    if not said:
        return "apologised" if apologized(fake, d, sent) else "unanswered"
    text = said[0].get("text", "")
    return "decided" if text.startswith("Approved:") else "recorded" if "is recorded" in text else "refused"


def test_many_approvers_clicking_many_requests_on_three_processes_decide_each_once(fleet, fake_slack, db):
    run = Run(random.Random(SEED))
    messages = open_requests(fleet, fake_slack, run)
    decisions = {rid: {u: "reject" if run.rng.random() < REJECT_SHARE else "approve" for u in APPROVERS}
                 for rid in sorted(messages)}
    rejecters = [(rid, u) for rid, by in decisions.items() for u, d in by.items() if d == "reject"]
    modals = reason_modals(fleet, fake_slack, messages, rejecters, run)
    decide_all(fleet, fake_slack, messages, decisions, modals, run)
    until(lambda: decided(db) >= len(messages), timeout=WAIT, what="every request decided")
    until(lambda: outbox_drained(db), timeout=WAIT, what="the outbox to drain")

    run.violations += [f"{k} posted {n} times" for k, n in posted_keys(fake_slack).items() if n > 1]
    with db.session() as s:
        requests = {r.id: r for r in s.exec(select(ApprovalRequest)).all()}
        votes = s.exec(select(ApprovalVote)).all()
        events = s.exec(select(AuditEvent).where(col(AuditEvent.entity_type) == "approval_request")).all()
    if (opened := sum(e.action == "approval.requested" for e in events)) != len(requests):
        run.violations.append(f"{opened} approval.requested events for {len(requests)} requests")
    told_opened = request_ids_told(fake_slack, run)
    if sorted(told_opened) != sorted(requests):
        run.violations.append(f"requests {sorted(requests)}, but the askers were told {sorted(told_opened)}")
    outcomes, said = Counter(), Counter()
    # Only the requests known when the clicking began were clicked on; one opened later (an
    # apologised ask whose Slack retry did it after all) is checked above: told, exactly once.
    for rid, request in ((rid, r) for rid, r in requests.items() if rid in messages):
        clicks = [(user, decision, d, told(fake_slack, d, decision, sent))
                  for user, decision, d, sent in run.clicks.get(rid, [])]
        said.update(t for *_, t in clicks)
        run.violations += [f"#{rid}: {d.label} ({d.trigger_id}) answered {n} times" for _, decision, d, _ in clicks
                           if decision == "approve" and (n := len(answers(fake_slack, d))) > 1]
        run.violations += check_request(fake_slack, request, [v for v in votes if v.request_id == rid],
                                        [e for e in events if e.entity_id == str(rid)], clicks)
        outcomes[request.status] += 1
    if said["unanswered"]:
        run.violations.append(f"{said['unanswered']} clicks never answered")
    run.violations += fleet.problems()

    print(f"\nconcurrency, sign-off: {run.clicks_sent} concurrent clicks sent ({run.retries_sent} of them Slack "
          f"retries racing their originals) on {len(requests)} requests {dict(outcomes)}, opened by "
          f"{len(run.asks)} /ai-approve each raced by its retry; {len(fleet.servers)} web processes, "
          f"{len(fleet.clocks)} clocks; clicks told {dict(said)}, the apologised ones (the database did not take "
          f"them in time) tried again; invariant violations: {len(run.violations)}")
    assert run.violations == [], "\n".join(run.violations)


def decided(db) -> int:  # noqa: ANN001
    with db.session() as s:
        return len(s.exec(select(ApprovalRequest).where(col(ApprovalRequest.status).in_(FINAL))).all())


def check_request(fake, request, votes, events, clicks) -> list[str]:  # noqa: ANN001
    """Everything that must hold for one request, as a list of what did not."""
    rid, bad = request.id, []
    if request.status not in FINAL:
        return [f"#{rid} is {request.status} after every approver acted"]
    counted = sorted({user for user, _, _, said in clicks if said in ("decided", "recorded")})
    deciders = [user for user, _, _, said in clicks if said == "decided"]
    voters = sorted(v.user for v in votes)
    if voters != counted:
        bad.append(f"#{rid}: votes by {voters}, but the bot told {counted} theirs counted")
    if len(deciders) != 1:
        bad.append(f"#{rid}: {len(deciders)} clicks were told they decided it ({deciders})")
    approvals = [v for v in votes if v.decision == "approve"]
    if request.status == "approved" and (len(approvals) != REQUIRED or len(votes) != REQUIRED):
        bad.append(f"#{rid} approved with votes {[(v.user, v.decision) for v in votes]}")
    if request.status == "rejected" and [v.decision for v in votes].count("reject") != 1:
        bad.append(f"#{rid} rejected with votes {[(v.user, v.decision) for v in votes]}")
    transitions = [e for e in events if e.action in ("approval.approved", "approval.rejected")]
    if len(transitions) != 1:
        bad.append(f"#{rid}: {len(transitions)} transitions {[e.action for e in transitions]}")
    elif votes and transitions[0].payload.get("vote_id") != max(v.id for v in votes):
        bad.append(f"#{rid}: a vote was recorded after the deciding one")
    for what, pattern in (("final notice", rf"approval:{rid}:v\d+:final"),
                          ("outcome DM", rf"approval:{rid}:v\d+:outcome")):
        if (n := sum(posted_matching(fake, pattern).values())) != 1:
            bad.append(f"#{rid}: {n} {what}s posted")
    ts = stored_with_key(fake, APPROVALS, rf"approval:{rid}:r1:post")[f"approval:{rid}:r1:post"]["ts"]
    finals = [c for c in fake.calls_to("chat.update") if c.args.get("ts") == ts
              and re.search(r"\[(approved|rejected)\]$", c.args.get("text", ""))]
    if len(finals) != 1:
        bad.append(f"#{rid}: the request message was updated to its decision {len(finals)} times")
    return bad

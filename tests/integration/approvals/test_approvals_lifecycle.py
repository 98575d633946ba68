"""Each path through a request's life, with the rows every step must write together."""

from datetime import timedelta

import pytest
from signoff_world import (
    APPROVALS,
    GOVERNANCE,
    REQUESTER,
    T0,
    audit_actions,
    audit_rows,
    counts,
    decide,
    new_rows,
    open_request,
    outbox_rows,
    request,
    timer_rows,
    view,
    votes,
)

from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from services import approvals, outbox
from services.approvals import ApprovalInputError

LATER = T0 + timedelta(minutes=5)


def test_pending_to_approved_with_two_of_three(db):
    rid = open_request(db, "pair")
    message_key = request(db, rid).message_key

    before = counts(db)
    first = decide(db, rid, "U0REV1", reason="Looks right", now=LATER)
    assert first.outcome == "recorded"
    assert first.message == "Your approval of revision 1 is recorded (1 of 2; 1 more needed)."
    assert new_rows(db, before) == {"approval_vote": 1, "audit_event": 1, "outbox_message": 2}
    update, notice = outbox_rows(db, rid)[-2:]
    assert (update.method, update.template, update.update_of, update.channel, update.key) == \
        ("chat.update", "approval_request", message_key, APPROVALS, f"approval:{rid}:v{first.vote.id}:update")
    assert update.payload["votes"] == [{"user": "U0REV1", "decision": "approve", "group": "reviewers",
                                        "reason": "Looks right", "at": LATER.isoformat(), "break_glass": False}]
    assert (notice.template, notice.thread_of, notice.payload["last_vote"]["user"]) == \
        ("approval_vote_notice", message_key, "U0REV1")

    before = counts(db)
    second = decide(db, rid, "U0REV2", now=LATER + timedelta(minutes=1))
    assert second.outcome == "approved"
    assert new_rows(db, before) == {"approval_vote": 1, "audit_event": 2, "outbox_message": 4}
    req = request(db, rid)
    assert (req.status, req.decided_at, req.state_version) == ("approved", LATER + timedelta(minutes=1), 3)
    assert audit_actions(db, rid)[-2:] == ["approval.voted", "approval.approved"]
    templates = [(m.template, m.channel) for m in outbox_rows(db, rid)[-4:]]
    assert templates == [("approval_request", APPROVALS), ("approval_vote_notice", APPROVALS),
                         ("approval_final", APPROVALS), ("approval_outcome_dm", REQUESTER)]
    final = outbox_rows(db, rid)[-2]
    assert (final.thread_of, final.payload["status"], final.payload["final"], final.payload["approvals_count"]) == \
        (message_key, "approved", True, 2)


def test_reaching_a_decision_cancels_the_timers(db):
    rid = open_request(db, "code")
    assert decide(db, rid, "U0REV3").outcome == "approved"
    assert {(t.kind, t.status) for t in timer_rows(db, rid)} == {("approval.remind", "cancelled"),
                                                                  ("approval.expire", "cancelled")}


def test_any_reject_rejects_and_needs_a_reason(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    before = counts(db)
    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0REV2", "reject", reason="   ")
    assert caught.value.field == "reason"
    assert caught.value.message == "A rejection needs a reason: say what is wrong, so the requester can act on it."
    assert new_rows(db, before) == {}

    result = decide(db, rid, "U0REV2", "reject", reason="Retries are unbounded")
    assert result.outcome == "rejected"
    assert request(db, rid).status == "rejected"
    assert new_rows(db, before) == {"approval_vote": 1, "audit_event": 2, "outbox_message": 4}
    final = next(m for m in outbox_rows(db, rid) if m.template == "approval_final")
    assert final.payload["last_vote"]["reason"] == "Retries are unbounded"
    assert audit_rows(db, rid)[-1].payload["reason"] == "Retries are unbounded"

    late = decide(db, rid, "U0REV3")
    assert (late.outcome, late.code) == ("denied", "not_pending")
    assert late.message == "This request was already rejected by <@U0REV2>."


def test_an_over_long_reason_is_refused(db):
    rid = open_request(db, "code")
    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0REV1", "reject", reason="x" * (approvals.REASON_MAX + 1))
    assert caught.value.field == "reason"


def test_changes_requested_then_resubmitted_dismisses_stale_approvals(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    changes = decide(db, rid, "U0REV2", "request_changes", reason="Add a test for the retry cap")
    assert changes.outcome == "changes_requested"
    req = request(db, rid)
    assert req.status == "changes_requested"
    assert decide(db, rid, "U0REV3").message == (
        "<@U0REV2> requested changes; nobody can decide until <@U0DEV> resubmits it.")

    before = counts(db)
    with db.session() as s:
        result = approvals.resubmit(s, request_id=rid, user=REQUESTER, now=LATER, note="Added the test",
                                    reference="https://github.com/acme/app/pull/42#r2",
                                    group_members={"reviewers": ["U0REV1", "U0REV2", "U0REV3"]})
    assert result.outcome == "resubmitted"
    assert result.message == "Resubmitted as revision 2; 2 earlier votes dismissed. Approvers have been asked again."
    assert new_rows(db, before) == {"audit_event": 1, "outbox_message": 5}
    req = request(db, rid)
    assert (req.status, req.revision, req.decided_at) == ("pending", 2, None)
    assert [(v.revision, v.dismissed) for v in votes(db, rid)] == [(1, True), (1, True)]
    v = view(db, rid)
    assert (v["votes"], v["approvals_count"], v["dismissed_count"]) == ([], 0, 2)
    event = audit_rows(db, rid)[-1]
    assert (event.action, event.payload["dismissed"], event.payload["previous_status"], event.payload["note"]) == \
        ("approval.resubmitted", 2, "changes_requested", "Added the test")
    rows = outbox_rows(db, rid)[-5:]
    assert [m.template for m in rows] == ["approval_request", "approval_thread_notice"] + ["approval_dm"] * 3
    assert rows[0].update_of == req.message_key and rows[0].method == "chat.update"
    assert rows[1].payload["event"] == "resubmitted" and rows[1].payload["note"] == "Added the test"

    # a click on the old revision's buttons counts for nothing
    stale = decide(db, rid, "U0REV1", revision=1)
    assert (stale.outcome, stale.code) == ("denied", "stale_revision")
    # the new revision needs fresh approvals, from anyone including earlier voters
    assert decide(db, rid, "U0REV1", now=LATER).outcome == "recorded"
    assert decide(db, rid, "U0REV2", now=LATER).outcome == "approved"
    assert request(db, rid).status == "approved"


def test_resubmitting_an_approved_request_reopens_it(db):
    rid = open_request(db, "code")
    decide(db, rid, "U0REV1")
    with db.session() as s:
        assert approvals.resubmit(s, request_id=rid, user=REQUESTER, now=LATER).outcome == "resubmitted"
    req = request(db, rid)
    assert (req.status, req.revision) == ("pending", 2)
    # new timers for the new revision, from the time of resubmission
    pending = {(t.kind, t.due_at) for t in timer_rows(db, rid) if t.status == "pending"}
    assert pending == {("approval.remind", LATER + timedelta(hours=1)), ("approval.expire", LATER + timedelta(days=1))}


def test_resubmitting_at_the_same_instant_keeps_working_timers(db):
    rid = open_request(db, "code")
    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=T0)
    assert {(t.kind, t.status, t.payload["revision"]) for t in timer_rows(db, rid)} == {
        ("approval.remind", "pending", 2), ("approval.expire", "pending", 2)}


def test_only_the_requester_resubmits_and_never_a_closed_request(db):
    rid = open_request(db, "code")
    with db.session() as s:
        other = approvals.resubmit(s, request_id=rid, user="U0REV1", now=LATER)
    assert (other.outcome, other.code, other.message) == (
        "denied", "not_requester", "Only the requester, <@U0DEV>, can resubmit this request.")
    decide(db, rid, "U0REV1", "reject", reason="No")
    with db.session() as s:
        closed = approvals.resubmit(s, request_id=rid, user=REQUESTER, now=LATER)
    assert (closed.outcome, closed.code) == ("denied", "closed")
    assert audit_actions(db, rid).count("approval.denied") == 2
    assert request(db, rid).revision == 1


def test_the_resubmit_form_opens_only_for_the_requester_and_a_refusal_is_audited(db):
    rid = open_request(db, "code")
    with db.session() as s:
        other = approvals.may_resubmit(s, request_id=rid, user="U0REV1", now=LATER)
        own = approvals.may_resubmit(s, request_id=rid, user=REQUESTER, now=LATER)
    assert (other.outcome, other.code, own) == ("denied", "not_requester", None)
    assert audit_actions(db, rid).count("approval.denied") == 1
    assert request(db, rid).revision == 1


def test_cancelled_by_the_requester(db):
    rid = open_request(db, "code")
    before = counts(db)
    with db.session() as s:
        result = approvals.cancel(s, request_id=rid, user=REQUESTER, now=LATER, reason="Superseded by #43")
    assert result.outcome == "cancelled"
    assert new_rows(db, before) == {"audit_event": 1, "outbox_message": 2}
    req = request(db, rid)
    assert (req.status, req.decided_at) == ("cancelled", LATER)
    assert {t.status for t in timer_rows(db, rid)} == {"cancelled"}
    update, final = outbox_rows(db, rid)[-2:]
    assert (update.method, final.template, final.payload["note"], final.payload["actor"]) == \
        ("chat.update", "approval_final", "Superseded by #43", REQUESTER)
    denied = decide(db, rid, "U0REV1")
    assert (denied.outcome, denied.code) == ("denied", "not_pending")


def test_cancelling_is_for_the_requester_or_an_admin(db):
    rid = open_request(db, "code")
    with db.session() as s:
        other = approvals.cancel(s, request_id=rid, user="U0REV1", now=LATER)
    assert (other.outcome, other.code) == ("denied", "not_requester")
    assert audit_rows(db, rid)[-1].action == "approval.denied"
    with db.session() as s:
        admin = approvals.cancel(s, request_id=rid, user="U0ADMIN", now=LATER, is_admin=True)
    assert admin.outcome == "cancelled"
    # the requester hears that someone else cancelled it
    assert outbox_rows(db, rid)[-1].template == "approval_outcome_dm"
    with db.session() as s:
        again = approvals.cancel(s, request_id=rid, user=REQUESTER, now=LATER)
    assert (again.outcome, again.code) == ("denied", "closed")


def runner_at(db, clock):
    runner = TimerRunner(db, clock, owner="test")
    for kind, handler in approvals.TIMER_HANDLERS.items():
        runner.register(kind, handler)
    return runner


def test_expiry_through_the_timer_runner(db):
    clock = ManualClock(T0)
    rid = open_request(db, "hotfix", requester="U0REV3")
    runner = runner_at(db, clock)
    clock.advance(timedelta(hours=1, minutes=59))
    assert runner.sweep() == 0
    before = counts(db)
    clock.advance(timedelta(minutes=1))
    assert runner.sweep() == 1
    assert new_rows(db, before) == {"audit_event": 1, "outbox_message": 3}
    req = request(db, rid)
    assert (req.status, req.decided_at) == ("expired", T0 + timedelta(hours=2))
    assert audit_rows(db, rid)[-1].actor == "countersign"
    assert [(m.template, m.channel) for m in outbox_rows(db, rid)[-3:]] == [
        ("approval_request", APPROVALS), ("approval_final", APPROVALS), ("approval_outcome_dm", "U0REV3")]
    denied = decide(db, rid, "U0REV1", now=clock.now())
    assert denied.message == "This request expired at 2026-03-02 11:00 UTC without sign-off; it needs a new request."


def test_a_request_waiting_for_changes_expires_too(db):
    clock = ManualClock(T0)
    rid = open_request(db, "code")
    decide(db, rid, "U0REV1", "request_changes", reason="Split it up")
    expire = [t for t in timer_rows(db, rid) if t.kind == "approval.expire"]
    assert [t.status for t in expire] == ["pending"]
    clock.advance(timedelta(days=1))
    assert runner_at(db, clock).sweep() == 1
    assert request(db, rid).status == "expired"


def test_an_expiry_set_for_an_earlier_revision_does_nothing(db):
    rid = open_request(db, "code")
    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=T0 + timedelta(hours=12))
    clock = ManualClock(T0 + timedelta(days=1))
    runner_at(db, clock).sweep()
    assert request(db, rid).status == "pending"
    clock.advance(timedelta(hours=12))
    runner_at(db, clock).sweep()
    assert request(db, rid).status == "expired"


def test_a_state_change_that_fails_halfway_leaves_nothing_behind(db, monkeypatch):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    before = counts(db)
    real = outbox.enqueue

    def flaky(session, **kwargs):
        if kwargs.get("template") == "approval_final":
            raise RuntimeError("disk full")
        return real(session, **kwargs)

    monkeypatch.setattr(outbox, "enqueue", flaky)
    with pytest.raises(RuntimeError):
        decide(db, rid, "U0REV2")
    assert new_rows(db, before) == {}
    assert request(db, rid).status == "pending"
    monkeypatch.setattr(outbox, "enqueue", real)
    assert decide(db, rid, "U0REV2").outcome == "approved"


def test_outbox_keys_are_unique_per_event(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    decide(db, rid, "U0REV2", "request_changes", reason="x")
    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=LATER)
    decide(db, rid, "U0REV1", now=LATER)
    decide(db, rid, "U0REV3", now=LATER)
    keys = [m.key for m in outbox_rows(db, rid)]
    assert len(keys) == len(set(keys))
    assert sum(1 for m in outbox_rows(db, rid) if m.template == "approval_final") == 2
    assert all(m.channel == GOVERNANCE or m.key.startswith(f"approval:{rid}:") for m in outbox_rows(db, rid))

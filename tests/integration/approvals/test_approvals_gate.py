"""The gate CI asks: is this ref signed off, by whom, under which playbook?"""

from datetime import timedelta

from signoff_world import PB, PR, REQUESTER, T0, decide, open_request

from services import approvals

LATER = T0 + timedelta(minutes=10)


def ask(db, ref):
    with db.session() as s:
        return approvals.gate(s, ref=ref)


def test_an_unknown_ref_has_no_answer(db):
    assert ask(db, "https://github.com/acme/app/pull/999") is None
    assert ask(db, "  ") is None


def test_a_pending_request_is_not_approved(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    answer = ask(db, PR)
    assert (answer.approved, answer.status, answer.request_id, answer.revision) == (False, "pending", rid, 1)
    assert [a["user"] for a in answer.approved_by] == ["U0REV1"]  # the approvals so far
    assert answer.decided_at is None


def test_an_approved_ref_is_approved_whichever_way_it_is_written(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1", now=T0)
    decide(db, rid, "U0REV2", now=LATER)
    answer = ask(db, "HTTPS://github.com/acme/app/pull/42/#files")
    assert answer.approved is True
    assert answer.approved_by == (
        {"user": "U0REV1", "group": "reviewers", "at": T0.isoformat(), "break_glass": False},
        {"user": "U0REV2", "group": "reviewers", "at": LATER.isoformat(), "break_glass": False})
    assert (answer.playbook_version, answer.playbook_hash, answer.decided_at) == (1, PB.content_hash, LATER)
    assert answer.etag == f'"a{rid}.3"'
    body = answer.as_dict()
    assert body["decided_at"] == LATER.isoformat() and body["approved_by"][0]["user"] == "U0REV1"


def test_a_commit_sha_matches_in_any_case(db):
    rid = open_request(db, "code", reference="9F8E7D6C5B4A")
    decide(db, rid, "U0REV1")
    assert ask(db, "9f8e7d6c5b4a").approved is True


def test_approved_then_resubmitted_is_not_approved_until_approved_again(db):
    rid = open_request(db, "code")
    decide(db, rid, "U0REV1")
    approved = ask(db, PR)
    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=LATER)
    answer = ask(db, PR)
    assert (answer.approved, answer.status, answer.revision, answer.approved_by) == (False, "pending", 2, ())
    assert answer.etag != approved.etag
    decide(db, rid, "U0REV2", now=LATER)
    assert ask(db, PR).approved is True


def test_the_latest_request_for_a_ref_answers(db):
    first = open_request(db, "code")
    decide(db, first, "U0REV1")
    second = open_request(db, "code")
    answer = ask(db, PR)
    assert (answer.request_id, answer.approved) == (second, False)


def test_rejected_expired_and_cancelled_are_not_approved(db):
    rid = open_request(db, "code", reference="launch-a")
    decide(db, rid, "U0REV1", "reject", reason="no")
    assert (ask(db, "launch-a").approved, ask(db, "launch-a").status) == (False, "rejected")
    rid = open_request(db, "code", reference="launch-b")
    with db.session() as s:
        approvals.cancel(s, request_id=rid, user=REQUESTER, now=T0)
    assert (ask(db, "launch-b").approved, ask(db, "launch-b").status) == (False, "cancelled")

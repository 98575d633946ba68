"""Policy enforcement, all from the request's frozen snapshot: who may decide, how often,
from which group, after which checklist, with what proof of intent."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from signoff_world import (
    GOVERNANCE,
    MEMBERS,
    PLAYBOOK_YAML,
    REQUESTER,
    T0,
    audit_rows,
    counts,
    decide,
    new_rows,
    open_request,
    outbox_rows,
    request,
    view,
    votes,
)

from services.approvals import ApprovalInputError


def last_audit(db, rid):
    return audit_rows(db, rid)[-1]


def test_an_outsider_is_refused_and_the_attempt_is_audited(db):
    rid = open_request(db, "code")
    before = counts(db)
    result = decide(db, rid, "U0STRANGER")
    assert (result.outcome, result.code) == ("denied", "not_an_approver")
    assert result.message == "Only members of reviewers may decide on this code request (1 of reviewers)."
    assert new_rows(db, before) == {"audit_event": 1}
    event = last_audit(db, rid)
    assert (event.action, event.actor) == ("approval.denied", "U0STRANGER")
    assert event.payload["code"] == "not_an_approver" and event.payload["attempted"] == "approve"
    assert request(db, rid).status == "pending"


def test_the_requester_cannot_approve_their_own_request(db):
    rid = open_request(db, "code", requester="U0REV1")
    result = decide(db, rid, "U0REV1")
    assert (result.outcome, result.code) == ("denied", "self_approval")
    assert result.message == ("You can't approve your own request: code sign-off needs someone else "
                              "(1 of reviewers).")
    assert last_audit(db, rid).action == "approval.denied"
    # not even with a break-glass reason, when the policy does not allow it
    again = decide(db, rid, "U0REV1", break_glass_reason="It is 3 a.m.")
    assert again.code == "self_approval"
    reject = decide(db, rid, "U0REV1", "reject", reason="changed my mind")
    assert reject.code == "own_request"
    assert votes(db, rid) == []


def test_break_glass_needs_a_reason(db):
    rid = open_request(db, "hotfix", requester="U0DEV")
    before = counts(db)
    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0DEV")
    assert caught.value.field == "break_glass_reason"
    assert new_rows(db, before) == {}


def test_break_glass_counts_is_flagged_and_tells_every_approver_and_governance(db):
    rid = open_request(db, "hotfix", requester="U0DEV")
    before = counts(db)
    result = decide(db, rid, "U0DEV", break_glass_reason="Checkout is down; nobody else on call")
    assert result.outcome == "approved"
    (vote,) = votes(db, rid)
    assert (vote.break_glass, vote.reason, vote.group_name) == (True, "Checkout is down; nobody else on call", "oncall")
    req = request(db, rid)
    assert (req.break_glass, req.status) == (True, "approved")
    assert [e.action for e in audit_rows(db, rid)[-3:]] == ["approval.voted", "approval.break_glass", "approval.approved"]
    # update + vote notice + governance + DM to the other approver + final (no outcome DM to oneself)
    assert new_rows(db, before) == {"approval_vote": 1, "audit_event": 3, "outbox_message": 5}
    glass = [m for m in outbox_rows(db, rid) if m.template == "approval_break_glass"]
    assert sorted(m.channel for m in glass) == [GOVERNANCE, "U0REV1"]
    assert all(m.payload["last_vote"]["reason"] == "Checkout is down; nobody else on call" for m in glass)
    assert view(db, rid)["votes"][0]["break_glass"] is True


def test_one_vote_per_person_per_revision(db):
    rid = open_request(db, "pair")
    assert decide(db, rid, "U0REV1").outcome == "recorded"
    again = decide(db, rid, "U0REV1", now=T0 + timedelta(minutes=3))
    assert (again.outcome, again.code) == ("denied", "already_voted")
    assert again.message == "You already approved revision 1 of this request at 2026-03-02 09:00 UTC; one vote per person."
    in_berlin = decide(db, rid, "U0REV1", now=T0 + timedelta(minutes=4), tz=ZoneInfo("Europe/Berlin"))
    assert "at 2026-03-02 10:00 CET; one vote per person." in in_berlin.message  # the playbook's wall clock
    flip = decide(db, rid, "U0REV1", "reject", reason="Actually no")
    assert flip.code == "already_voted"
    assert len(votes(db, rid)) == 1 and request(db, rid).status == "pending"


def test_distinct_groups_each_approval_from_another_group(db):
    rid = open_request(db, "copy", audience="external")
    assert decide(db, rid, "U0LEAD1").outcome == "recorded"
    same_group = decide(db, rid, "U0LEAD2")
    assert (same_group.outcome, same_group.code) == ("denied", "group_used")
    assert same_group.message == ("Your group has already approved: eng-leads (approved by <@U0LEAD1>). This request "
                                  "needs approvals from distinct groups; the next approval must come from legal.")
    assert last_audit(db, rid).payload["code"] == "group_used"
    # someone in both groups counts for the one not used yet
    result = decide(db, rid, "U0BOTH")
    assert result.outcome == "approved"
    assert [(v.user, v.group_name) for v in votes(db, rid)] == [("U0LEAD1", "eng-leads"), ("U0BOTH", "legal")]


def test_without_distinct_groups_two_from_one_group_suffice(db):
    rid = open_request(db, "launch")
    decide(db, rid, "U0LEAD1", confirmations=["privacy-review", "security-review"])
    assert decide(db, rid, "U0LEAD2").outcome == "approved"


def test_the_checklist_must_be_confirmed_before_the_final_approval_counts(db):
    rid = open_request(db, "launch")
    first = decide(db, rid, "U0LEAD1", confirmations=["privacy-review"])
    assert first.outcome == "recorded"
    assert view(db, rid)["checklist_confirmed"] == [{"item": "privacy-review", "user": "U0LEAD1"}]

    before = counts(db)
    refused = decide(db, rid, "U0LEGAL1")
    assert (refused.outcome, refused.code, refused.missing_checklist) == ("denied", "checklist_incomplete",
                                                                         ("security-review",))
    assert "security-review" in refused.message
    assert new_rows(db, before) == {"audit_event": 1}
    assert last_audit(db, rid).payload["missing_checklist"] == ["security-review"]

    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0LEGAL1", confirmations=["pen-test"])
    assert caught.value.field == "confirmations"

    done = decide(db, rid, "U0LEGAL1", confirmations=["security-review"])
    assert done.outcome == "approved"
    assert view(db, rid)["checklist_confirmed"] == [{"item": "privacy-review", "user": "U0LEAD1"},
                                                    {"item": "security-review", "user": "U0LEGAL1"}]


def test_confirmations_belong_to_a_revision(db):
    rid = open_request(db, "launch")
    decide(db, rid, "U0LEAD1", confirmations=["privacy-review", "security-review"])
    from services import approvals

    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=T0)
    decide(db, rid, "U0LEAD1")
    assert decide(db, rid, "U0LEAD2").missing_checklist == ("privacy-review", "security-review")


def test_high_assurance_needs_the_reference_restated_and_a_reason(db):
    rid = open_request(db, "model", reference="ABCDEF1234")
    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0REV1")
    assert set(caught.value.errors) == {"restated_reference", "reason"}
    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0REV1", restated_reference="abcdef9999", reason="Checked the eval")
    assert caught.value.field == "restated_reference"
    assert caught.value.message == ("'abcdef9999' is not the reference of this request (ABCDEF1234); "
                                    "check you are approving the right artifact.")
    assert votes(db, rid) == []
    result = decide(db, rid, "U0REV1", restated_reference=" abcdef1234 ", reason="Checked the eval")
    assert result.outcome == "approved"


def test_a_slack_user_group_decides_through_the_callers_resolution(db):
    resolved = {**MEMBERS, "legal-ug": ["U0UG1"]}
    rid = open_request(db, "counsel", members=resolved)
    # nobody resolved the user group: it has no static members, so nobody may decide
    assert decide(db, rid, "U0UG1").code == "not_an_approver"
    assert decide(db, rid, "U0UG1", members=resolved).outcome == "approved"


def test_the_snapshot_rules_not_the_current_playbook(db):
    """A request keeps the rule it was opened under even when the playbook changes."""
    from signoff_world import PB

    from services import approvals
    from services.playbook import load_playbook_text

    rid = open_request(db, "code")
    stricter = load_playbook_text(PLAYBOOK_YAML.replace(
        "code: {approvers: [reviewers], required: 1,", "code: {approvers: [reviewers], required: 3,"))
    assert stricter.content_hash != PB.content_hash
    with db.session() as s:
        later = approvals.open_request(s, playbook=stricter, kind="code", audience="internal", title="t",
                                       reference="abc1234", requester=REQUESTER, now=T0, group_members=MEMBERS)
        later_id = later.id
    assert decide(db, rid, "U0REV1").outcome == "approved"
    assert decide(db, later_id, "U0REV1").outcome == "recorded"


def test_an_unknown_decision_is_bad_input(db):
    rid = open_request(db, "code")
    with pytest.raises(ApprovalInputError) as caught:
        decide(db, rid, "U0REV1", "maybe")
    assert caught.value.field == "decision"


def test_denials_of_a_closed_request_name_who_decided(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    decide(db, rid, "U0REV2")
    late = decide(db, rid, "U0REV3")
    assert late.message == "This request was already approved by <@U0REV1> and <@U0REV2>."


def test_a_concurrent_double_click_records_one_vote_on_any_database(db):
    import threading

    rid = open_request(db, "pair")
    start = threading.Barrier(2)
    results, errors = [], []

    def click():
        start.wait()
        try:
            results.append(decide(db, rid, "U0REV1"))
        except BaseException as exc:  # a thread cannot fail the test; surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.outcome for r in results) == ["denied", "recorded"]
    assert len(votes(db, rid)) == 1


def test_a_requester_outside_the_approver_groups_hears_about_their_own_request(db):
    rid = open_request(db, "pair", requester="U0DEV")
    result = decide(db, rid, "U0DEV")
    assert result.code == "self_approval"


def test_break_glass_is_only_for_members_of_an_approver_group(db):
    rid = open_request(db, "hotfix", requester="U0LEAD1")
    result = decide(db, rid, "U0LEAD1", break_glass_reason="Urgent")
    assert (result.outcome, result.code) == ("denied", "not_an_approver")

"""Opening a request: one transaction writes the request, its audit event, its messages and
timers — or, for bad input, nothing at all."""

from datetime import timedelta

import pytest
from signoff_world import (
    APPROVALS,
    MEMBERS,
    PB,
    PR,
    REQUESTER,
    T0,
    audit_rows,
    counts,
    new_rows,
    open_request,
    outbox_rows,
    request,
    timer_rows,
    view,
)

from services import approvals
from services.approvals import (
    AI_TOOL_MAX,
    REFERENCE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    ApprovalInputError,
    policy_line,
)


def test_opening_writes_the_request_audit_messages_and_timers_together(db):
    before = counts(db)
    rid = open_request(db, "code", reference=" HTTPS://GitHub.com/acme/app/pull/42/ ", summary="Retries with jitter",
                       origin_channel="C0TEAM", declared_uses=["coding-assistants"])
    assert new_rows(db, before) == {"approval_request": 1, "audit_event": 1, "outbox_message": 5, "timer": 2}

    req = request(db, rid)
    assert (req.status, req.revision, req.state_version, req.channel, req.origin_channel) == \
        ("pending", 1, 1, APPROVALS, "C0TEAM")
    assert req.reference == "HTTPS://GitHub.com/acme/app/pull/42/"
    assert req.ref_key == PR
    assert (req.playbook_hash, req.playbook_version) == (PB.content_hash, 1)
    assert req.policy["required"] == 1 and req.policy["approvers"][0]["name"] == "reviewers"
    assert req.expires_at == T0 + timedelta(days=1)
    assert req.message_key == f"approval:{rid}:r1:post"

    (event,) = audit_rows(db, rid)
    assert (event.action, event.actor, event.at) == ("approval.requested", REQUESTER, T0)
    assert event.payload["declared_uses"] == ["coding-assistants"]
    assert event.payload["playbook_hash"] == PB.content_hash

    rows = {m.key: m for m in outbox_rows(db, rid)}
    post = rows[f"approval:{rid}:r1:post"]
    assert (post.method, post.channel, post.template, post.thread_of) == \
        ("chat.postMessage", APPROVALS, "approval_request", None)
    assert post.payload == view(db, rid)
    notice = rows[f"approval:{rid}:r1:notice"]
    assert (notice.template, notice.thread_of, notice.channel) == \
        ("approval_thread_notice", req.message_key, APPROVALS)
    assert notice.payload["approvers_to_notify"] == ["U0REV1", "U0REV2", "U0REV3"]
    assert notice.payload["event"] == "opened"
    dms = sorted((m.channel, m.template, m.payload["recipient"]) for m in rows.values() if m.template == "approval_dm")
    assert dms == [(u, "approval_dm", u) for u in ("U0REV1", "U0REV2", "U0REV3")]

    timers = {(t.kind, t.due_at, t.status) for t in timer_rows(db, rid)}
    assert timers == {("approval.remind", T0 + timedelta(hours=1), "pending"),
                      ("approval.expire", T0 + timedelta(days=1), "pending")}


def test_the_view_is_plain_json_describing_the_request(db):
    import json

    rid = open_request(db, "launch", summary="New trip planner", ai_tool="Claude")
    v = view(db, rid)
    assert json.loads(json.dumps(v)) == v
    assert {k: v[k] for k in ("id", "kind", "audience", "status", "revision", "requester", "channel", "ai_tool")} == {
        "id": rid, "kind": "launch", "audience": "internal", "status": "pending", "revision": 1,
        "requester": REQUESTER, "channel": APPROVALS, "ai_tool": "Claude"}
    assert v["created_at"] == T0.isoformat() and v["expires_at"] is None
    assert v["policy"]["checklist"] == [
        {"id": "privacy-review", "text": "Privacy review completed (personal data, retention, DPIA where needed)"},
        {"id": "security-review", "text": "Pen test done"}]
    assert v["policy"]["approvers"] == ["eng-leads", "legal"]
    assert (v["votes"], v["approvals_count"], v["dismissed_count"], v["checklist_confirmed"], v["final"]) == \
        ([], 0, 0, [], False)
    assert v["playbook_hash"] == PB.short_hash
    assert policy_line(v) == "2 of eng-leads + legal"
    assert policy_line(view(db, open_request(db, "copy", audience="external"))) == \
        "2 of eng-leads + legal, distinct groups"
    assert policy_line(view(db, open_request(db, "model"))) == "1 of reviewers, high assurance"


def test_the_requester_is_not_asked_to_approve_their_own_request(db):
    rid = open_request(db, "hotfix", requester="U0DEV")
    dms = [m.channel for m in outbox_rows(db, rid) if m.template == "approval_dm"]
    assert dms == ["U0REV1"]
    assert [t.kind for t in timer_rows(db, rid)] == ["approval.expire"]


def test_approvers_of_a_slack_user_group_come_from_the_callers_resolution(db):
    rid = open_request(db, "counsel", members={**MEMBERS, "legal-ug": ["U0UG1", "U0UG2"]})
    notice = next(m for m in outbox_rows(db, rid) if m.template == "approval_thread_notice")
    assert notice.payload["approvers_to_notify"] == ["U0UG1", "U0UG2"]
    assert notice.payload["usergroups_to_notify"] == ["S0LEGAL"]


def expect_refusal(db, field, **kwargs):
    before = counts(db)
    with pytest.raises(ApprovalInputError) as caught:
        open_request(db, **kwargs)
    assert caught.value.field == field
    assert new_rows(db, before) == {}
    return caught.value


def test_an_unknown_kind_is_refused_listing_the_known_ones(db):
    error = expect_refusal(db, "kind", kind="poem")
    assert error.message == ("'poem' is not a kind of sign-off in the playbook. "
                             "Known kinds: code, pair, copy, launch, hotfix, model, counsel.")


def test_an_unknown_audience_is_refused(db):
    assert "internal or external" in expect_refusal(db, "audience", audience="everyone").message


def test_an_off_limits_use_is_refused_with_the_playbooks_own_words(db):
    error = expect_refusal(db, "declared_uses", declared_uses=["coding-assistants", "covert-profiling"])
    assert error.message == "No AI inference of protected attributes about customers."


def test_an_unknown_declared_use_is_refused(db):
    error = expect_refusal(db, "declared_uses", declared_uses=["vibes"])
    assert error.message == "'vibes' is not a use named in the playbook (allowed uses: coding-assistants)."


@pytest.mark.parametrize(("field", "limit", "label"), [
    ("title", TITLE_MAX, "The title"),
    ("reference", REFERENCE_MAX, "The reference"),
    ("summary", SUMMARY_MAX, "The summary"),
    ("ai_tool", AI_TOOL_MAX, "The AI tool"),
])
def test_oversize_fields_are_refused_naming_the_field_and_nothing_is_written(db, field, limit, label):
    error = expect_refusal(db, field, **{field: "x" * (limit + 1)})
    assert error.message == f"{label} is {limit + 1} characters long; the limit is {limit}."


def test_fields_at_their_limits_are_accepted(db):
    rid = open_request(db, title="t" * TITLE_MAX, reference="r" * REFERENCE_MAX, summary="s" * SUMMARY_MAX,
                       ai_tool="a" * AI_TOOL_MAX)
    assert len(request(db, rid).summary) == SUMMARY_MAX


@pytest.mark.parametrize(("field", "message"), [
    ("title", "The title is missing: say in a few words what is being signed off."),
    ("reference", "The reference is missing: give the PR URL, commit SHA, document URL or launch name "
                  "being signed off."),
])
def test_missing_required_fields_are_refused(db, field, message):
    assert expect_refusal(db, field, **{field: "   "}).message == message


def test_every_bad_field_is_reported_at_once(db):
    with pytest.raises(ApprovalInputError) as caught:
        open_request(db, title="", reference="", summary="s" * (SUMMARY_MAX + 1))
    assert caught.value.field == "title"
    assert set(caught.value.errors) == {"title", "reference", "summary"}


def test_a_request_id_that_does_not_exist(db):
    with db.session() as s, pytest.raises(approvals.UnknownRequest) as caught:
        approvals.get_request(s, 999)
    assert caught.value.field == "request_id"
    with db.session() as s:
        assert approvals.get(s, 999) is None

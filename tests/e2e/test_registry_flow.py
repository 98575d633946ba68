"""Use-case and vendor records through the real HTTP path: forms opened by signed slash
commands, submitted as Slack submits them, answered on the field that is wrong."""

from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from models.audit import AuditEvent
from models.registry import RecordChange, UseCase, Vendor
from services import registry
from services.playbook import load_playbook
from services.registry import fields
from tests.e2e.registry_support import (  # noqa: F401  (fixtures)
    GOVERNOR,
    HELPER,
    OWNER,
    PLAYBOOK,
    REVIEWER,
    USECASE,
    VENDOR,
    ephemerals,
    form_state,
    open_form,
    registry_bot,
    slack,
    submit,
)


def rows(db, model):
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def audit_actions(db):
    with db.session() as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def new_use_case(slack, fake, answers=None, user=OWNER):
    view_id, view = open_form(slack, fake, "/ai-usecase", "new", user, "usecase_new")
    return submit(slack, view_id, view, {**USECASE, **(answers or {})}, user)


def new_vendor(slack, fake, answers=None, user=OWNER):
    view_id, view = open_form(slack, fake, "/ai-vendor", "new", user, "vendor_new")
    return submit(slack, view_id, view, {**VENDOR, **(answers or {})}, user)


def test_a_use_case_documented_through_the_form_is_on_record(slack, fake_slack, db):
    assert new_use_case(slack, fake_slack) is None  # the form closed
    fake_slack._poll(lambda: ephemerals(fake_slack, OWNER), 1, 10, "the confirmation")
    assert "UC-1 Support reply drafts is on record; its first review is due" in ephemerals(fake_slack, OWNER)[0]
    with db.session() as s:
        record = s.get(UseCase, 1)
        assert (record.owner, record.contributors, record.status, record.risk_tier) == \
            (OWNER, [HELPER], "proposed", "limited")
        assert record.models == [{"provider": "OpenAI", "model": "gpt-4o", "version": "2024-08-06",
                                  "hosting": "vendor cloud"}]
        assert (record.next_review_at - record.created_at).days == 30
    assert "usecase.created" in audit_actions(db)


def test_the_first_form_is_short_and_the_edit_form_continues_it(slack, fake_slack):
    _, first = open_form(slack, fake_slack, "/ai-usecase", "new", OWNER, "usecase_new")
    new_fields = [b["block_id"] for b in first["blocks"] if b["type"] == "input"]
    assert "training_data" not in new_fields and "title" in new_fields
    new_use_case(slack, fake_slack)
    _, edit = open_form(slack, fake_slack, "/ai-usecase", "edit 1", OWNER, "usecase_edit")
    edit_fields = [b["block_id"] for b in edit["blocks"] if b["type"] == "input"]
    # No vendor is on record yet, so there is nothing to link.
    assert edit_fields == [spec.name for spec in fields.USECASE_FIELDS if spec.name != "vendors"]
    title = next(b for b in edit["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Support reply drafts"


# One bad answer per field, and the words its error must contain.
USECASE_BAD = {
    "title": ("", "Title is missing"),
    "description": ("x" * 3001, "limit is 3000"),
    "owner": ("U0NOBODY", "is not a member of this workspace"),
    "contributors": (["U0BOT"], "is a bot"),
    "audience": ("everyone", "not a choice for Audience"),
    "purpose": ("   ", "Purpose and justification is missing"),
    "intended_uses": ("y" * 3001, "limit is 3000"),
    "out_of_scope_uses": ("y" * 3001, "limit is 3000"),
    "risk_tier": ("catastrophic", "not a choice for Risk tier"),
    "models": ("just-a-name", "Line 1"),
    "vendors": (["999"], "There is no vendor #999"),
}
EDIT_ONLY_BAD = {
    **{spec.name: ("z" * 3001, "limit is 3000") for spec in fields.USECASE_FIELDS
       if spec.kind == fields.LONG_TEXT and not spec.on_new},
    "status": ("approved", "Only the playbook's admins and documentation approvers"),
    "next_review": ("2020-01-01", "must be after today"),
}
VENDOR_BAD = {
    "name": ("", "Name is missing"),
    "website": ("not a url", "must be a web address"),
    "contact": ("c" * 501, "limit is 500"),
    "provides": ("", "What it provides is missing"),
    "use_cases": (["999"], "There is no use case #999"),
    "data_ownership": ("d" * 3001, "limit is 3000"),
    "trains_on_our_data": ("maybe", "not a choice"),
    "retention": ("r" * 3001, "limit is 3000"),
    "deployment": ("moon", "not a choice for Deployment model"),
    "certifications": ("c" * 3001, "limit is 3000"),
    "data_sensitivity": ("d" * 3001, "limit is 3000"),
    "injection_tested": ("sort of", "not a choice"),
    "injection_result": ("i" * 3001, "limit is 3000"),
    "risk_level": ("extreme", "not a choice for Risk level"),
    "contingency": ("c" * 3001, "limit is 3000"),
    "review_status": ("reviewed", "The assignee cannot sign the review off"),
    "assignee": ("U0GONE", "has left the workspace"),
    "reviewer": (OWNER, "someone other than the assignee"),
    "review_result": ("r" * 3001, "limit is 3000"),
}


@pytest.mark.parametrize("kind, bad", [("usecase", USECASE_BAD), ("vendor", VENDOR_BAD)])
def test_every_field_of_the_new_forms_gets_its_own_error_and_nothing_is_written(slack, fake_slack, db,
                                                                                  kind, bad):
    if kind == "usecase":
        new_vendor(slack, fake_slack)  # a vendor exists, so the form offers the vendors field
    else:
        new_use_case(slack, fake_slack)
    before = (rows(db, UseCase), rows(db, Vendor), rows(db, AuditEvent))
    callback = f"{kind}_new"
    good = USECASE if kind == "usecase" else VENDOR
    view_id, view = open_form(slack, fake_slack, f"/ai-{kind}", "new", OWNER, callback)
    shown = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert set(bad) == shown, "every field of the form is tried"
    for field, (answer, words) in bad.items():
        # A forged submission may carry values the form never offered (vendor #999).
        answer_json = submit(slack, view_id, view, {**good, field: answer}, OWNER)
        assert answer_json is not None, f"{field}: the form closed"
        assert answer_json["response_action"] == "errors"
        assert list(answer_json["errors"]) == [field], (field, answer_json)
        assert words in answer_json["errors"][field], (field, answer_json)
    # The assignee signing their own review off is refused for who they are, and that is audited
    # (vendor.denied); every other answer is a typing mistake, which writes nothing.
    refusals = 1 if kind == "vendor" else 0
    assert (rows(db, UseCase), rows(db, Vendor), rows(db, AuditEvent)) == (before[0], before[1], before[2] + refusals)


def test_every_edit_only_field_gets_its_own_error(slack, fake_slack, db):
    new_use_case(slack, fake_slack)
    view_id, view = open_form(slack, fake_slack, "/ai-usecase", "edit 1", OWNER, "usecase_edit")
    for field, (answer, words) in EDIT_ONLY_BAD.items():
        answer_json = submit(slack, view_id, view, {field: answer}, OWNER)
        assert answer_json is not None and list(answer_json["errors"]) == [field], (field, answer_json)
        assert words in answer_json["errors"][field], (field, answer_json)
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(RecordChange)).one() == 0


def test_an_edit_is_recorded_field_by_field_and_shown(slack, fake_slack, db):
    new_use_case(slack, fake_slack)
    view_id, view = open_form(slack, fake_slack, "/ai-usecase", "edit 1", HELPER, "usecase_edit")
    assert submit(slack, view_id, view, {"drift": "Retrain quarterly.", "risk_tier": "high"}, HELPER) is None
    with db.session() as s:
        changes = s.exec(select(RecordChange).order_by(RecordChange.id)).all()
        assert [(c.field, c.old, c.new, c.by) for c in changes[:2]] == [
            ("risk_tier", "limited", "high", HELPER), ("drift", "", "Retrain quarterly.", HELPER)]
        record = s.get(UseCase, 1)
        # High risk: the playbook's 10-day cadence from when it was documented.
        assert (record.next_review_at - record.created_at).days == 10
    shown = slack.command("/ai-usecase", "show 1", user_id=OWNER)
    fake_slack.wait_for_responses(1)
    text = str(fake_slack.responses[-1][1])
    assert "Retrain quarterly." in text and f"<@{HELPER}> changed risk tier" in text
    assert shown.status_code == 200


def test_only_a_governor_other_than_the_owner_approves_a_use_case(slack, fake_slack, db):
    new_use_case(slack, fake_slack, {"owner": GOVERNOR}, user=GOVERNOR)
    view_id, view = open_form(slack, fake_slack, "/ai-usecase", "edit 1", GOVERNOR, "usecase_edit")
    refused = submit(slack, view_id, view, {"status": "approved"}, GOVERNOR)
    assert "You own this use case" in refused["errors"]["status"]
    view_id, view = open_form(slack, fake_slack, "/ai-usecase", "edit 1", "U0GOV2", "usecase_edit")
    assert submit(slack, view_id, view, {"status": "approved"}, "U0GOV2") is None
    with db.session() as s:
        assert s.get(UseCase, 1).status == "approved"


def test_a_prohibited_use_case_cannot_be_approved_through_the_form(slack, fake_slack, db):
    new_use_case(slack, fake_slack, {"risk_tier": "prohibited"})
    view_id, view = open_form(slack, fake_slack, "/ai-usecase", "edit 1", GOVERNOR, "usecase_edit")
    refused = submit(slack, view_id, view, {"status": "approved"}, GOVERNOR)
    assert refused["errors"]["status"].startswith(
        "UC-1 is in the prohibited risk tier: a use of AI that may not be put into service at all "
        "(the EU AI Act's unacceptable risk), so it cannot be approved.")
    with db.session() as s:
        assert s.get(UseCase, 1).status == "proposed"


def test_people_who_do_not_keep_a_record_cannot_open_its_edit_form(slack, fake_slack):
    new_use_case(slack, fake_slack)
    slack.command("/ai-usecase", "edit 1", user_id=REVIEWER)
    answer = fake_slack.wait_for_responses(1)[-1][1]
    assert "Only the people who keep UC-1" in answer["text"]
    assert not [c for c in fake_slack.calls_to("views.open") if c.args["view"]["callback_id"] == "usecase_edit"]


def denials(db):
    with db.session() as s:
        return [(e.entity_type, e.entity_id, e.actor, e.payload["attempted"])
                for e in s.exec(select(AuditEvent).where(AuditEvent.action.endswith(".denied"))
                                .order_by(AuditEvent.id)).all()]


def test_reviewed_and_retire_from_the_command_line(slack, fake_slack, db):
    new_use_case(slack, fake_slack)
    # A contributor keeps the record with its owner, but only the owner vouches it is still true.
    slack.command("/ai-usecase", "reviewed UC-1", user_id=HELPER)
    refused = fake_slack.wait_for_responses(1)[-1][1]["text"]
    assert f"Only the owner of UC-1 (<@{OWNER}>) or a documentation admin may mark it reviewed." in refused
    assert denials(db) == [("usecase", "1", HELPER, "mark_reviewed")]
    slack.command("/ai-usecase", "reviewed UC-1", user_id=OWNER)
    assert f"marked reviewed by <@{OWNER}>" in fake_slack.wait_for_responses(2)[-1][1]["text"]
    slack.command("/ai-usecase", "retire 1", user_id=OWNER)
    assert "is retired" in fake_slack.wait_for_responses(3)[-1][1]["text"]
    slack.command("/ai-usecase", "reviewed 1", user_id=OWNER)
    assert "retired" in fake_slack.wait_for_responses(4)[-1][1]["text"]
    slack.command("/ai-usecase", "show 42", user_id=OWNER)
    assert "There is no use case #42" in fake_slack.wait_for_responses(5)[-1][1]["text"]
    with db.session() as s:
        record = s.get(UseCase, 1)
        assert (record.status, record.last_reviewed_by) == ("retired", OWNER)


def test_lists_filter_by_owner_staleness_and_status(slack, fake_slack):
    new_use_case(slack, fake_slack)
    new_use_case(slack, fake_slack, {"title": "Code review bot", "owner": REVIEWER, "contributors": []},
                 user=REVIEWER)
    slack.command("/ai-usecase", "list mine", user_id=REVIEWER)
    mine = str(fake_slack.wait_for_responses(1)[-1][1])
    assert "Code review bot" in mine and "Support reply drafts" not in mine
    slack.command("/ai-usecase", "list stale", user_id=OWNER)
    assert "(0)" in str(fake_slack.wait_for_responses(2)[-1][1])
    slack.command("/ai-usecase", "list proposed", user_id=OWNER)
    assert "(2)" in str(fake_slack.wait_for_responses(3)[-1][1])
    refused = slack.command("/ai-usecase", "list everything", user_id=OWNER).json()
    assert "Usage: `/ai-usecase list" in refused["text"]


def test_vendor_review_is_signed_off_by_the_reviewer_not_the_assignee(slack, fake_slack, db):
    assert new_vendor(slack, fake_slack) is None
    slack.command("/ai-vendor", "reviewed 1", user_id=OWNER)
    answer = fake_slack.wait_for_responses(1)[-1][1]
    assert "separation of duties" in answer["text"]
    assert denials(db) == [("vendor", "1", OWNER, "mark_reviewed")]
    view_id, view = open_form(slack, fake_slack, "/ai-vendor", "reviewed 1", REVIEWER, "vendor_review")
    assert submit(slack, view_id, view, {"review_status": "reviewed",
                                         "review_result": "DPA signed; no training on our data."},
                  REVIEWER) is None
    with db.session() as s:
        vendor = s.get(Vendor, 1)
        assert (vendor.review_status, vendor.last_reviewed_by, vendor.review_result) == \
            ("reviewed", REVIEWER, "DPA signed; no training on our data.")
    assert "vendor.reviewed" in audit_actions(db)


def test_a_use_case_naming_an_unreviewed_vendor_is_flagged(slack, fake_slack):
    new_vendor(slack, fake_slack)
    new_use_case(slack, fake_slack, {"vendors": ["1"]})
    slack.command("/ai-usecase", "show 1", user_id=OWNER)
    text = str(fake_slack.wait_for_responses(1)[-1][1])
    assert "Relies on vendors not reviewed" in text and "V-1 OpenAI (in review)" in text


def test_a_launch_must_name_an_approved_current_use_case(slack, fake_slack, db):
    new_use_case(slack, fake_slack)
    slack.command("/ai-approve", "launch support-bot-v2 Launch the drafts", user_id=OWNER)
    assert "must name the documented AI use case" in fake_slack.wait_for_responses(1)[-1][1]["text"]
    slack.command("/ai-approve", "launch support-bot-v2 Launch the drafts UC-1", user_id=OWNER)
    refused = fake_slack.wait_for_responses(2)[-1][1]["text"]
    assert "requires an approved, current use case: UC-1 is proposed, not approved" in refused
    # Where the rule does not require it, naming the same use case only warns.
    slack.command("/ai-approve", "copy docs/page Update the FAQ UC-1", user_id=OWNER)
    assert "requested in" in fake_slack.wait_for_responses(3)[-1][1]["text"]
    fake_slack._poll(lambda: fake_slack.messages("C0APPROVE"), 1, 10, "the request message")
    posted = str(fake_slack.messages("C0APPROVE")[0])
    assert "Use case: UC-1 Support reply drafts" in posted and "UC-1 is proposed, not approved" in posted


def test_beyond_a_hundred_records_the_pickers_search(slack, fake_slack, db):
    with db.session() as s:  # seeding: 120 vendors on record
        for n in range(120):
            registry.create(s, "vendor", {**VENDOR, "name": f"Vendor {n:03d}", "reviewer": REVIEWER},
                            authority=registry.Authority(OWNER), now=datetime.now(UTC),
                            playbook=load_playbook(PLAYBOOK).playbook)
    view_id, view = open_form(slack, fake_slack, "/ai-usecase", "new", OWNER, "usecase_new")
    picker = next(b for b in view["blocks"] if b.get("block_id") == "vendors")["element"]
    assert (picker["type"], picker["action_id"]) == ("multi_external_select", "search_vendor")
    found = slack.block_suggestion("search_vendor", "vendor 11", block_id="vendors", view_id=view_id,
                                   user_id=OWNER).json()
    # Newest first: "Vendor 119" down to "Vendor 110".
    assert [o["text"]["text"] for o in found["options"]] == [
        f"V-{n + 1} Vendor {n:03d}" for n in range(119, 109, -1)]
    by_number = slack.block_suggestion("search_vendor", "V-7", block_id="vendors", view_id=view_id,
                                       user_id=OWNER).json()
    assert by_number["options"][0] == {"text": {"type": "plain_text", "text": "V-7 Vendor 006"}, "value": "7"}
    state = form_state(view, USECASE)
    state["vendors"] = {"search_vendor": {"type": "multi_external_select", "selected_options": [
        {"value": "7", "text": {"type": "plain_text", "text": "V-7 Vendor 006"}}]}}
    assert slack.view_submission("usecase_new", state, user_id=OWNER, view_id=view_id).content == b""
    with db.session() as s:
        assert registry.linked_ids(s, "usecase", 1) == [7]


def test_every_field_of_the_vendor_review_form_gets_its_own_error(slack, fake_slack, db):
    new_vendor(slack, fake_slack)
    view_id, view = open_form(slack, fake_slack, "/ai-vendor", "reviewed 1", REVIEWER, "vendor_review")
    for field, answer, words in (("review_status", "not_started", "A review ends reviewed"),
                                 ("review_result", "r" * 3001, "limit is 3000")):
        refused = submit(slack, view_id, view, {field: answer}, REVIEWER)
        assert list(refused["errors"]) == [field] and words in refused["errors"][field], refused
    with db.session() as s:
        assert s.get(Vendor, 1).review_status == "in_review"


def test_the_use_case_picker_of_the_sign_off_form_refuses_an_unknown_one(slack, fake_slack, db):
    new_use_case(slack, fake_slack)
    view_id, view = open_form(slack, fake_slack, "/ai-approve", "", OWNER, "approval_new")
    answers = {"kind": "copy", "title": "FAQ update", "reference": "docs/faq", "use_case": "999"}
    refused = submit(slack, view_id, view, answers, OWNER)
    assert list(refused["errors"]) == ["use_case"] and "There is no use case #999" in refused["errors"]["use_case"]
    assert submit(slack, view_id, view, {**answers, "use_case": "1"}, OWNER) is None

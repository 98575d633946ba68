"""Creating, editing, reviewing and retiring records: one transaction each, or nothing."""

from datetime import UTC, date, datetime

import pytest
from registry_world import (
    ADMIN,
    ASSIGNEE,
    BERLIN_PB,
    DAY,
    GOV,
    HELPER,
    OWNER,
    PB,
    REVIEWER,
    STRANGER,
    T0,
    audit_actions,
    audit_rows,
    changes,
    counts,
    edit,
    linked,
    new_usecase,
    new_vendor,
    record,
    review,
    snooze,
    timer_rows,
    usecase_fields,
    vendor_fields,
    who,
)

from services import registry
from services.registry import NotAllowed, RegistryInputError
from services.registry.revisit import stamp


def refused(fn, *args, **kwargs) -> RegistryInputError:
    with pytest.raises(RegistryInputError) as caught:
        fn(*args, **kwargs)
    return caught.value


def create(db, kind, raw, *, by=OWNER, now=T0, playbook=PB):
    with db.session() as s:
        return registry.create(s, kind, raw, authority=who(by), now=now, playbook=playbook).id


# --- creating ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "days"), [("high", 30), ("limited", 90), ("minimal", 365), ("prohibited", 90)])
def test_a_new_use_case_is_proposed_and_due_after_its_tiers_cadence(db, tier, days):
    uc = new_usecase(db, risk_tier=tier, status="approved")  # a status given on create is ignored
    got = record(db, "usecase", uc)
    assert (got.status, got.created_by, got.created_at) == ("proposed", OWNER, T0)
    assert got.next_review_at == T0 + days * DAY
    assert (got.last_reviewed_at, got.snoozes, got.state_version) == (None, 0, 1)


@pytest.mark.parametrize(("level", "days"), [("high", 60), ("medium", 180), ("low", 180)])
def test_a_new_vendor_is_due_after_its_risk_levels_cadence(db, level, days):
    assert record(db, "vendor", new_vendor(db, risk_level=level)).next_review_at == T0 + days * DAY


def test_creating_writes_an_audit_event_and_three_revisit_timers(db):
    uc = new_usecase(db, risk_tier="high")
    (event,) = audit_rows(db, "usecase", uc)
    assert (event.action, event.actor, event.at) == ("usecase.created", OWNER, T0)
    assert event.payload["ref"] == f"UC-{uc}"
    assert event.payload["status"] == "proposed"
    assert event.payload["vendors"] == []
    assert event.payload["next_review_at"] == "2026-04-01T09:00:00+00:00"
    due = T0 + 30 * DAY
    assert [(t.kind, t.due_at, t.status) for t in timer_rows(db, "usecase", uc)] == [
        ("revisit.soon", due - 5 * DAY, "pending"),
        ("revisit.due", due, "pending"),
        ("revisit.raise", due + 10 * DAY, "pending"),
    ]


def test_links_are_visible_from_both_sides(db):
    v1, v2 = new_vendor(db, name="OpenAI"), new_vendor(db, name="Anthropic")
    uc = new_usecase(db, vendors=[v2, v1])
    v3 = new_vendor(db, name="Mistral", use_cases=[uc])
    assert linked(db) == [(uc, v1), (uc, v2), (uc, v3)]
    with db.session() as s:
        uc_view = registry.record_view(s, "usecase", registry.get(s, "usecase", uc), now=T0)
        v_view = registry.record_view(s, "vendor", registry.get(s, "vendor", v3), now=T0)
    assert [v["ref"] for v in uc_view["vendors"]] == [f"V-{v1}", f"V-{v2}", f"V-{v3}"]
    assert [(u["ref"], u["title"]) for u in v_view["use_cases"]] == [(f"UC-{uc}", "Support bot")]


@pytest.mark.parametrize(("kind", "raw", "field"), [
    ("usecase", usecase_fields(title=""), "title"),
    ("usecase", usecase_fields(owner="bob"), "owner"),
    ("usecase", usecase_fields(models="justone"), "models"),
    ("usecase", usecase_fields(vendors=[99]), "vendors"),
    ("vendor", vendor_fields(reviewer=ASSIGNEE), "reviewer"),
    ("vendor", vendor_fields(use_cases=[42]), "use_cases"),
    ("vendor", vendor_fields(website="openai.com"), "website"),
])
def test_a_refused_create_writes_nothing(db, kind, raw, field):
    before = counts(db)
    error = refused(create, db, kind, raw, by=ASSIGNEE)
    assert error.field == field
    assert counts(db) == before


def test_an_unknown_link_is_named(db):
    error = refused(create, db, "usecase", usecase_fields(vendors=[99]))
    assert error.errors == {"vendors": "There is no vendor #99."}


def test_a_reviewer_must_not_be_the_assignee_on_create(db):
    error = refused(create, db, "vendor", vendor_fields(reviewer=ASSIGNEE))
    assert error.errors == {"reviewer": "The reviewer must be someone other than the assignee (separation of duties)."}


def test_the_assignee_cannot_create_a_vendor_already_reviewed(db):
    error = refused(create, db, "vendor", vendor_fields(review_status="reviewed"), by=ASSIGNEE)
    assert error.errors == {"review_status": "The assignee cannot sign the review off; the reviewer sets this "
                                             "(separation of duties)."}


def test_a_reviewer_recording_a_reviewed_vendor_signs_it_off(db):
    v = new_vendor(db, review_status="reviewed", by=REVIEWER)
    got = record(db, "vendor", v)
    assert (got.last_reviewed_at, got.last_reviewed_by) == (T0, REVIEWER)


# --- editing -------------------------------------------------------------------------------------


def test_an_edit_records_each_changed_field_once(db):
    uc = new_usecase(db)
    got, changed = edit(db, "usecase", uc, {"title": "Support assistant", "purpose": "Shorter queues",
                                            "audience": "external", "contributors": [HELPER]},
                        by=OWNER, now=T0 + DAY)
    assert changed == ["title", "contributors", "purpose"]
    assert changes(db, "usecase", uc) == [
        ("title", "Support bot", "Support assistant", OWNER),
        ("contributors", [], [HELPER], OWNER),
        ("purpose", "Faster first answers", "Shorter queues", OWNER),
    ]
    assert (got.state_version, got.updated_at) == (2, T0 + DAY)
    assert audit_rows(db, "usecase", uc)[-1].payload == {"ref": f"UC-{uc}",
                                                         "fields": ["title", "contributors", "purpose"]}


def test_an_edit_that_changes_nothing_writes_nothing(db):
    uc = new_usecase(db)
    before = counts(db)
    got, changed = edit(db, "usecase", uc, {"title": " Support bot ", "audience": "external"}, by=OWNER)
    assert changed == []
    assert counts(db) == before
    assert got.state_version == 1


def test_editing_links_records_old_and_new_ids(db):
    v1, v2 = new_vendor(db), new_vendor(db, name="Anthropic")
    uc = new_usecase(db, vendors=[v1])
    _, changed = edit(db, "usecase", uc, {"vendors": [v2, v1]}, by=OWNER)
    assert changed == ["vendors"]
    assert changes(db, "usecase", uc) == [("vendors", [v1], [v1, v2], OWNER)]
    assert linked(db) == [(uc, v1), (uc, v2)]


def test_a_refused_edit_writes_nothing(db):
    uc = new_usecase(db)
    before = counts(db)
    error = refused(edit, db, "usecase", uc, {"title": "New title", "risk_tier": "severe"}, by=OWNER)
    assert list(error.errors) == ["risk_tier"]
    assert counts(db) == before
    assert record(db, "usecase", uc).title == "Support bot"


@pytest.mark.parametrize(("user", "allowed"), [(OWNER, True), (HELPER, True), (GOV, True), (ADMIN, True),
                                               (STRANGER, False)])
def test_only_keepers_and_governors_edit_a_use_case(db, user, allowed):
    uc = new_usecase(db, contributors=[HELPER])
    if allowed:
        assert edit(db, "usecase", uc, {"drift": "Seasonal"}, by=user)[1] == ["drift"]
    else:
        error = refused(edit, db, "usecase", uc, {"drift": "Seasonal"}, by=user)
        assert type(error) is NotAllowed
        assert error.message == (f"Only the people who keep UC-{uc} (<@{OWNER}> or <@{HELPER}>) or a "
                                 "documentation admin may edit it.")


def test_only_a_governor_who_does_not_own_it_approves_a_use_case(db):
    uc = new_usecase(db, contributors=[HELPER])
    for user in (OWNER, HELPER):
        error = refused(edit, db, "usecase", uc, {"status": "approved"}, by=user)
        assert error.errors == {"status": "Only the playbook's admins and documentation approvers may approve "
                                          "or reject a use case; ask in the governance channel."}
    own = new_usecase(db, owner=GOV, by=GOV)
    error = refused(edit, db, "usecase", own, {"status": "rejected"}, by=GOV)
    assert error.errors == {"status": "You own this use case: someone else approves or rejects it."}

    _, changed = edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    assert changed == ["status"]
    assert changes(db, "usecase", uc) == [("status", "proposed", "approved", GOV)]


PROHIBITED_WHY = ("is in the prohibited risk tier: a use of AI that may not be put into service at all "
                  "(the EU AI Act's unacceptable risk), so it cannot be approved.")


@pytest.mark.parametrize("raw", [{"status": "approved"}, {"status": "approved", "risk_tier": "prohibited"}])
def test_a_prohibited_use_case_is_never_approved(db, raw):
    uc = new_usecase(db, risk_tier="prohibited" if "risk_tier" not in raw else "high")
    before = counts(db)
    error = refused(edit, db, "usecase", uc, raw, by=GOV)
    assert error.errors == {"status": f"UC-{uc} {PROHIBITED_WHY} Reject it, or correct its risk tier if it was "
                                      "set by mistake."}
    assert counts(db) == before
    assert edit(db, "usecase", uc, {"status": "rejected", "risk_tier": "prohibited"}, by=GOV)[0].status == "rejected"


def test_an_approved_use_case_found_prohibited_leaves_approval_in_the_same_edit(db):
    uc = new_usecase(db)
    edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    error = refused(edit, db, "usecase", uc, {"risk_tier": "prohibited"}, by=OWNER)
    assert error.errors == {"risk_tier": f"UC-{uc} {PROHIBITED_WHY} It is approved now: set its status to "
                                         "rejected or retired in the same edit."}
    got, changed = edit(db, "usecase", uc, {"risk_tier": "prohibited", "status": "retired"}, by=OWNER)
    assert (got.status, got.risk_tier) == ("retired", "prohibited") and {"status", "risk_tier"} <= set(changed)


def test_a_keeper_may_retire_a_use_case_by_editing_its_status(db):
    uc = new_usecase(db)
    edit(db, "usecase", uc, {"status": "retired"}, by=OWNER)
    assert record(db, "usecase", uc).status == "retired"
    assert {t.status for t in timer_rows(db, "usecase", uc)} == {"cancelled"}


def test_vendor_keepers_are_assignee_and_reviewer(db):
    v = new_vendor(db)
    assert edit(db, "vendor", v, {"contact": "sales@openai.com"}, by=ASSIGNEE)[1] == ["contact"]
    assert edit(db, "vendor", v, {"retention": "30 days"}, by=REVIEWER)[1] == ["retention"]
    assert type(refused(edit, db, "vendor", v, {"retention": "1 day"}, by=STRANGER)) is NotAllowed


@pytest.mark.parametrize(("raw", "field"), [
    ({"reviewer": ASSIGNEE}, "reviewer"),
    ({"assignee": REVIEWER}, "reviewer"),
])
def test_an_edit_keeps_reviewer_and_assignee_apart(db, raw, field):
    v = new_vendor(db)
    before = counts(db)
    error = refused(edit, db, "vendor", v, raw, by=GOV)
    assert list(error.errors) == [field]
    assert counts(db) == before


@pytest.mark.parametrize("status", ["reviewed", "requires_follow_up", "rejected"])
def test_the_assignee_cannot_end_a_vendor_review(db, status):
    v = new_vendor(db)
    error = refused(edit, db, "vendor", v, {"review_status": status}, by=ASSIGNEE)
    assert list(error.errors) == ["review_status"]
    assert record(db, "vendor", v).review_status == "not_started"


def test_the_assignee_may_move_a_review_along(db):
    v = new_vendor(db)
    assert edit(db, "vendor", v, {"review_status": "in_review"}, by=ASSIGNEE)[1] == ["review_status"]


def test_the_reviewer_ends_a_review_by_editing_it(db):
    v = new_vendor(db)
    got, changed = edit(db, "vendor", v, {"review_status": "reviewed"}, by=REVIEWER, now=T0 + 3 * DAY)
    assert changed == ["review_status", "next_review"]
    assert (got.last_reviewed_at, got.last_reviewed_by) == (T0 + 3 * DAY, REVIEWER)
    assert got.next_review_at == T0 + 183 * DAY


def test_a_vendor_without_reviewer_is_ended_by_a_governor_only(db):
    v = new_vendor(db, reviewer="")
    error = refused(edit, db, "vendor", v, {"review_status": "reviewed"}, by=STRANGER)
    assert type(error) is NotAllowed
    assert refused(review, db, "vendor", v, by=STRANGER, now=T0).message == (
        f"V-{v} has no reviewer yet: name one with `/ai-vendor edit {v}`.")
    assert review(db, "vendor", v, by=GOV, now=T0 + DAY).last_reviewed_by == GOV


# --- reviewing -----------------------------------------------------------------------------------


def test_marking_a_use_case_reviewed_moves_its_next_review_and_resets_snoozes(db):
    uc = new_usecase(db, risk_tier="high", contributors=[HELPER])
    due = T0 + 30 * DAY
    snooze(db, "usecase", uc, user=HELPER, now=due)
    assert record(db, "usecase", uc).snoozes == 1
    got = review(db, "usecase", uc, by=OWNER, now=due + 2 * DAY)
    assert (got.last_reviewed_at, got.last_reviewed_by, got.snoozes) == (due + 2 * DAY, OWNER, 0)
    assert got.next_review_at == due + 32 * DAY
    assert changes(db, "usecase", uc)[-2:] == [
        ("last_reviewed", None, (due + 2 * DAY).isoformat(), OWNER),
        ("next_review", due.isoformat(), (due + 32 * DAY).isoformat(), OWNER),
    ]
    assert audit_actions(db, "usecase", uc) == ["usecase.created", "usecase.review_snoozed", "usecase.reviewed"]


@pytest.mark.parametrize(("user", "allowed"), [(OWNER, True), (GOV, True), (ADMIN, True), (HELPER, False),
                                               (STRANGER, False)])
def test_only_the_owner_or_a_governor_marks_a_use_case_reviewed(db, user, allowed):
    # A contributor keeps the record with the owner (edits, snoozes) but does not vouch for it.
    uc = new_usecase(db, contributors=[HELPER])
    if allowed:
        assert review(db, "usecase", uc, by=user, now=T0 + DAY).last_reviewed_by == user
        return
    before = counts(db)
    error = refused(review, db, "usecase", uc, by=user, now=T0 + DAY)
    assert type(error) is NotAllowed
    assert error.message == f"Only the owner of UC-{uc} (<@{OWNER}>) or a documentation admin may mark it reviewed."
    assert counts(db) == before


def test_who_may_not_review_is_refused_before_a_stale_reminder_is_explained(db):
    uc = new_usecase(db, contributors=[HELPER])
    with db.session() as s:
        tag = stamp(registry.get(s, "usecase", uc))
    review(db, "usecase", uc, by=OWNER, now=T0 + DAY)
    assert type(refused(review, db, "usecase", uc, by=HELPER, now=T0 + 2 * DAY, tag=tag)) is NotAllowed


def test_a_refusal_is_recorded_by_deny(db):
    uc = new_usecase(db)
    with db.session() as s:
        registry.deny(s, "usecase", uc, actor=STRANGER, attempted="mark_reviewed", reason="Only the owner…",
                      now=T0 + DAY)
    (event,) = [e for e in audit_rows(db, "usecase", uc) if e.action == "usecase.denied"]
    assert (event.actor, event.at, event.payload) == (
        STRANGER, T0 + DAY, {"ref": f"UC-{uc}", "attempted": "mark_reviewed", "reason": "Only the owner…"})


def test_the_assignee_cannot_mark_a_vendor_reviewed(db):
    v = new_vendor(db)
    before = counts(db)
    error = refused(review, db, "vendor", v, by=ASSIGNEE, now=T0 + DAY)
    assert type(error) is NotAllowed
    assert error.message.startswith(f"<@{ASSIGNEE}> is the assignee of V-{v}")
    assert counts(db) == before


def test_only_the_named_reviewer_or_a_governor_signs_a_vendor_off(db):
    v = new_vendor(db)
    assert refused(review, db, "vendor", v, by=STRANGER, now=T0).message == (
        f"The review of V-{v} is <@{REVIEWER}>'s to sign off.")
    got = review(db, "vendor", v, by=REVIEWER, now=T0 + DAY, result="Contract checked")
    assert (got.review_status, got.review_result, got.last_reviewed_by) == ("reviewed", "Contract checked", REVIEWER)
    assert got.next_review_at == T0 + 181 * DAY
    assert audit_rows(db, "vendor", v)[-1].payload["review_status"] == "reviewed"


def test_a_review_needing_follow_up_comes_back_sooner(db):
    v = new_vendor(db)
    got = review(db, "vendor", v, by=REVIEWER, now=T0, outcome="requires_follow_up")
    assert got.review_status == "requires_follow_up"
    assert got.next_review_at == T0 + 20 * DAY  # ten times renudge_after, below the 180-day cadence
    error = refused(review, db, "vendor", v, by=REVIEWER, now=T0, outcome="in_review")
    assert error.field == "review_status"


# --- retiring ------------------------------------------------------------------------------------


def test_retiring_cancels_the_timers_and_stops_reviews(db):
    uc = new_usecase(db)
    with db.session() as s:
        registry.retire(s, uc, authority=who(OWNER), now=T0 + DAY, playbook=BERLIN_PB)
    assert {t.status for t in timer_rows(db, "usecase", uc)} == {"cancelled"}
    assert changes(db, "usecase", uc) == [("status", "proposed", "retired", OWNER)]
    error = refused(review, db, "usecase", uc, by=OWNER, now=T0 + 2 * DAY)
    assert type(error) is RegistryInputError
    assert error.field == "id"
    # Retiring twice is a no-op, not a second event.
    with db.session() as s:
        registry.retire(s, uc, authority=who(OWNER), now=T0 + 3 * DAY, playbook=BERLIN_PB)
    assert audit_actions(db, "usecase", uc) == ["usecase.created", "usecase.retired"]


def test_a_stranger_cannot_retire(db):
    uc = new_usecase(db)
    with db.session() as s, pytest.raises(NotAllowed):
        registry.retire(s, uc, authority=who(STRANGER), now=T0, playbook=BERLIN_PB)
    assert record(db, "usecase", uc).status == "proposed"


# --- a picked review date ------------------------------------------------------------------------


@pytest.mark.parametrize(("picked", "expected"), [
    (date(2026, 3, 20), datetime(2026, 3, 20, 8, 0, tzinfo=UTC)),  # 09:00 CET
    (date(2026, 4, 15), datetime(2026, 4, 15, 7, 0, tzinfo=UTC)),  # 09:00 CEST
])
def test_a_picked_date_means_nine_in_the_morning_in_the_playbook_zone(db, picked, expected):
    uc = new_usecase(db, next_review=picked, playbook=BERLIN_PB)
    assert record(db, "usecase", uc).next_review_at == expected
    assert [t.due_at for t in timer_rows(db, "usecase", uc, status="pending")] == [
        expected - 5 * DAY, expected, expected + 10 * DAY]


def test_editing_the_date_moves_the_timers(db):
    uc = new_usecase(db, playbook=BERLIN_PB)
    _, changed = edit(db, "usecase", uc, {"next_review": date(2026, 4, 15)}, by=OWNER, playbook=BERLIN_PB)
    new = datetime(2026, 4, 15, 7, 0, tzinfo=UTC)
    assert changed == ["next_review"]
    assert changes(db, "usecase", uc) == [("next_review", (T0 + 90 * DAY).isoformat(), new.isoformat(), OWNER)]
    assert [t.due_at for t in timer_rows(db, "usecase", uc, status="pending")] == [
        new - 5 * DAY, new, new + 10 * DAY]
    assert len(timer_rows(db, "usecase", uc, status="cancelled")) == 3


def test_today_is_the_playbook_zones_today(db):
    # 23:30 UTC on 2 March is already 3 March in Berlin: the 3rd is today there, not tomorrow.
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    error = refused(create, db, "usecase", usecase_fields(next_review=date(2026, 3, 3)), now=late,
                    playbook=BERLIN_PB)
    assert error.errors == {"next_review": "Next review date must be after today (2026-03-03)."}

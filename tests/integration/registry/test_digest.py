"""The weekly digest: each section's order, counts and limits; the team's and one person's."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from registry_world import (
    DAY,
    OWNER,
    REVIEWER,
    T0,
    decide,
    edit,
    new_usecase,
    new_vendor,
    open_incident,
    open_request,
    resolve_incident,
    review,
)

from services.registry import digest

NOW = T0
SOON = 7 * DAY
OTHER = "U0OTHER"


@pytest.fixture
def world(db):
    """A workspace a week into its life; ids by name."""
    ids = {}
    ids["r1"] = open_request(db, "pair", title="Two-person change", now=NOW - 10 * DAY)
    decide(db, ids["r1"], "U0REV1", now=NOW - 9 * DAY)  # one of two: still waiting
    ids["r2"] = open_request(db, "code", title="Asked by an approver", requester="U0REV1", now=NOW - 3 * DAY)
    ids["r3"] = open_request(db, "code", title="Already approved", now=NOW - 7 * DAY)
    decide(db, ids["r3"], "U0REV2", now=NOW - 4 * DAY)
    ids["r4"] = open_request(db, "counsel", title="Needs counsel", now=NOW - DAY)

    ids["i1"] = open_incident(db, title="Leaky prompt", now=NOW - 2 * DAY)
    ids["i2"] = open_incident(db, title="Wrong answers", now=NOW - DAY)
    ids["i3"] = open_incident(db, title="Old and fixed", now=NOW - 8 * DAY)
    resolve_incident(db, ids["i3"], now=NOW - DAY)

    ids["vA"] = new_vendor(db, name="Vendor A", now=NOW - 200 * DAY)  # due NOW-20d, not reviewed
    ids["vB"] = new_vendor(db, name="Vendor B", review_status="reviewed", by=REVIEWER, now=NOW - 100 * DAY)
    ids["vC"] = new_vendor(db, name="Vendor C", risk_level="high", review_status="in_review",
                           reviewer="U0VREV2", now=NOW - 50 * DAY)
    ids["vD"] = new_vendor(db, name="Vendor D", review_status="reviewed", by=REVIEWER, now=NOW - DAY)
    ids["ucX"] = new_usecase(db, title="Due soon", risk_tier="high", vendors=[ids["vA"]], now=NOW - 28 * DAY)
    ids["ucY"] = new_usecase(db, title="Overdue", owner=OTHER, contributors=[OWNER], vendors=[ids["vB"]],
                             by=OTHER, now=NOW - 95 * DAY)
    ids["ucZ"] = new_usecase(db, title="Current", owner=OTHER, vendors=[ids["vC"]], by=OTHER, now=NOW - 10 * DAY)
    ids["ucR"] = new_usecase(db, title="Retired", vendors=[ids["vA"]], now=NOW - 100 * DAY)
    edit(db, "usecase", ids["ucR"], {"status": "retired"}, by=OWNER, now=NOW - 50 * DAY)
    ids["ucN"] = new_usecase(db, title="New", risk_tier="minimal", now=NOW - 2 * DAY)
    review(db, "usecase", ids["ucN"], by=OWNER, now=NOW - DAY)
    return ids


def build(db, **kwargs):
    with db.session() as s:
        return digest.build(s, now=NOW, soon=SOON, **kwargs)


def refs(section):
    return [item["ref"] for item in section["items"]]


def test_sign_offs_waiting_oldest_first_with_who_holds_them(db, world):
    waiting = build(db)["waiting"]
    assert waiting["total"] == 3
    assert [(i["id"], i["age_days"], i["holders"], i["holder_groups"]) for i in waiting["items"]] == [
        (world["r1"], 10, ["U0REV2", "U0REV3"], []),
        (world["r2"], 3, ["U0REV2", "U0REV3"], []),  # its requester does not hold it
        (world["r4"], 1, [], ["S0LEGAL"]),
    ]
    resolved = build(db, group_members={"legal-ug": ["U0LEGAL"]})["waiting"]["items"][2]
    assert (resolved["holders"], resolved["holder_groups"]) == (["U0LEGAL"], [])


def test_records_due_soonest_first_with_their_owners(db, world):
    due = build(db)["due"]
    assert due["total"] == 3
    assert [(i["ref"], i["owner"], i["due_state"], i["days_to_review"]) for i in due["items"]] == [
        (f"V-{world['vA']}", REVIEWER, "overdue", -20),
        (f"UC-{world['ucY']}", OTHER, "overdue", -5),
        (f"UC-{world['ucX']}", OWNER, "due_soon", 2),
    ]


def test_vendors_not_reviewed_oldest_first(db, world):
    vendors = build(db)["vendors"]
    assert (vendors["total"], refs(vendors)) == (2, [f"V-{world['vA']}", f"V-{world['vC']}"])
    assert [i["status"] for i in vendors["items"]] == ["not_started", "in_review"]


def test_use_cases_flagged_for_their_vendors(db, world):
    flagged = build(db)["flagged"]
    assert (flagged["total"], refs(flagged)) == (2, [f"UC-{world['ucX']}", f"UC-{world['ucZ']}"])
    assert [[f["ref"] for f in i["flags"]] for i in flagged["items"]] == [[f"V-{world['vA']}"], [f"V-{world['vC']}"]]


def test_open_incidents_oldest_first(db, world):
    incidents = build(db)["incidents"]
    assert incidents["total"] == 2
    assert [(i["id"], i["title"], i["status"], i["age_days"]) for i in incidents["items"]] == [
        (world["i1"], "Leaky prompt", "open", 2), (world["i2"], "Wrong answers", "open", 1)]


def test_changes_count_the_last_seven_days(db, world):
    counted = {c["action"]: c["count"] for c in build(db)["changes"]}
    assert counted == {
        "approval.requested": 3,  # r1 was ten days ago; r3 exactly seven
        "approval.approved": 1,
        "approval.rejected": 0,
        "approval.expired": 0,
        "incident.opened": 2,
        "incident.resolved": 1,
        "usecase.created": 1,
        "usecase.reviewed": 1,
        "usecase.retired": 0,  # retired by an edit, fifty days ago
        "vendor.created": 1,
        "vendor.reviewed": 0,
    }
    assert [c["label"] for c in build(db)["changes"]][:2] == ["sign-offs requested", "sign-offs approved"]


def test_sections_show_at_most_limit_items_but_count_them_all(db, world):
    capped = build(db, limit=1)
    for name, total in (("waiting", 3), ("due", 3), ("vendors", 2), ("flagged", 2), ("incidents", 2)):
        assert (capped[name]["total"], len(capped[name]["items"])) == (total, 1), name
    assert capped["waiting"]["items"][0]["id"] == world["r1"]
    assert refs(capped["due"]) == [f"V-{world['vA']}"]


def test_a_personal_digest_shows_only_that_persons_items(db, world):
    mine = build(db, user=OWNER)
    assert mine["personal"] == OWNER
    assert mine["waiting"] == {"total": 0, "items": []}
    assert refs(mine["due"]) == [f"UC-{world['ucY']}", f"UC-{world['ucX']}"]  # as contributor, then owner
    assert mine["vendors"] == {"total": 0, "items": []}
    assert refs(mine["flagged"]) == [f"UC-{world['ucX']}"]
    assert (mine["incidents"], mine["changes"]) == ({"total": 0, "items": []}, [])


def test_a_personal_digest_lists_what_an_approver_still_holds(db, world):
    assert [i["id"] for i in build(db, user="U0REV2")["waiting"]["items"]] == [world["r1"], world["r2"]]
    assert build(db, user="U0REV1")["waiting"]["total"] == 0  # voted on one, asked for the other
    reviewer = build(db, user=REVIEWER)
    assert refs(reviewer["vendors"]) == [f"V-{world['vA']}"]
    assert refs(reviewer["due"]) == [f"V-{world['vA']}"]
    assert reviewer["flagged"]["total"] == 0


def test_a_digest_is_claimed_once_per_scope_and_week(db):
    with db.session() as s:
        got = [digest.claim(s, scope=scope, week=week, due_at=NOW, now=NOW)
               for scope, week in (("team:T1", "2026-W10"), ("team:T1", "2026-W10"), ("user:U0OWN", "2026-W10"),
                                   ("team:T1", "2026-W11"), ("team:T1", "2026-W10-1"))]
    assert got == [True, False, True, True, True]
    with db.session() as s:
        assert digest.claim(s, scope="team:T1", week="2026-W10", due_at=NOW, now=NOW + DAY) is False


@pytest.mark.parametrize(("occurrence", "days", "key"), [
    (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), 1, "2026-W10"),
    (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), 2, "2026-W10-1"),
    (datetime(2026, 3, 5, 8, 0, tzinfo=UTC), 7, "2026-W10-4"),
    (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), 1, "2026-W10"),  # already Monday in Berlin
    (datetime(2027, 1, 1, 8, 0, tzinfo=UTC), 1, "2026-W53"),
    (datetime(2027, 1, 1, 8, 0, tzinfo=UTC), 5, "2026-W53-5"),
])
def test_period_keys(occurrence, days, key):
    assert digest.period_key(occurrence, ZoneInfo("Europe/Berlin"), days) == key


def test_subscribing_on_and_off(db):
    with db.session() as s:
        assert [digest.subscribe(s, user=u, on=True, now=NOW) for u in ("U0B", "U0A", "U0B")] == [True, True, False]
    with db.session() as s:
        assert digest.subscribers(s) == ["U0A", "U0B"]
        assert digest.subscribe(s, user="U0A", on=False, now=NOW) is True
    with db.session() as s:
        assert digest.subscribe(s, user="U0A", on=False, now=NOW) is False
        assert digest.subscribers(s) == ["U0B"]

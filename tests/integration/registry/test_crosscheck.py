"""What a sign-off learns about the use case it names."""

from zoneinfo import ZoneInfo

import pytest
from registry_world import (
    DAY,
    GOV,
    OWNER,
    REVIEWER,
    T0,
    edit,
    new_usecase,
    new_vendor,
    review,
)

from models.registry import UseCase
from services import registry
from services.registry import RegistryInputError

DUE = T0 + 90 * DAY  # a limited-risk use case created at T0


def check(db, uc, now):
    with db.session() as s:
        return registry.use_case_check(s, uc, now=now)


def test_a_proposed_use_case_is_not_a_sound_basis(db):
    uc = new_usecase(db)
    assert check(db, uc, T0 + DAY) == {
        "id": uc, "ref": f"UC-{uc}", "title": "Support bot", "status": "proposed", "current": False,
        "sound": False, "warning": f"UC-{uc} is proposed, not approved"}


def test_an_approved_current_use_case_is_sound(db):
    uc = new_usecase(db)
    edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    got = check(db, uc, DUE - DAY)
    assert (got["status"], got["current"], got["sound"], got["warning"]) == ("approved", True, True, None)


@pytest.mark.parametrize(("now", "words"), [
    (DUE, "its review is due"),
    (DUE + 14 * DAY / 24, "its review is due"),  # 23:00 on the review date
    (DUE + 15 * DAY / 24, "its review is 1 day overdue"),  # midnight: the next day, 15 hours late
    (DUE + DAY, "its review is 1 day overdue"),
    (DUE + 12 * DAY, "its review is 12 days overdue"),
])
def test_an_overdue_review_is_named(db, now, words):
    uc = new_usecase(db)
    edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    got = check(db, uc, now)
    assert (got["warning"], got["current"], got["sound"]) == (words, False, False)


def test_an_approved_use_case_in_the_prohibited_tier_is_no_basis(db):
    # Approved before approving a prohibited one was refused: the data may still hold it.
    uc = new_usecase(db)
    edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    with db.session() as s:
        s.get(UseCase, uc).risk_tier = "prohibited"
    got = check(db, uc, T0 + DAY)
    assert (got["warning"], got["current"], got["sound"]) == (f"UC-{uc} is in the prohibited risk tier", False, False)


def test_days_overdue_are_the_playbooks_calendar_days(db):
    uc = new_usecase(db)
    edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    late = DUE + 14 * DAY / 24 + DAY / 48  # 23:30 UTC on the review date: 01:30 the next day in Berlin
    assert check(db, uc, late)["warning"] == "its review is due"
    with db.session() as s:
        assert registry.use_case_check(s, uc, now=late, tz=ZoneInfo("Europe/Berlin"))["warning"] == \
            "its review is 1 day overdue"


def test_relying_on_an_unreviewed_vendor_is_named_but_still_sound(db):
    v1, v2 = new_vendor(db, name="OpenAI"), new_vendor(db, name="Acme AI")
    review(db, "vendor", v1, by=REVIEWER, now=T0)
    edit(db, "vendor", v2, {"review_status": "requires_follow_up"}, by=REVIEWER)
    uc = new_usecase(db, vendors=[v1, v2], owner=OWNER)
    edit(db, "usecase", uc, {"status": "approved"}, by=GOV)
    got = check(db, uc, T0 + DAY)
    assert got["warning"] == f"it relies on vendor V-{v2} Acme AI (requires follow up)"
    assert (got["current"], got["sound"]) == (False, True)


def test_every_problem_is_listed(db):
    v = new_vendor(db, name="Acme AI")
    uc = new_usecase(db, vendors=[v])
    assert check(db, uc, DUE + 2 * DAY)["warning"] == (
        f"UC-{uc} is proposed, not approved; its review is 2 days overdue; "
        f"it relies on vendor V-{v} Acme AI (not started)")


def test_an_unknown_use_case_is_refused_on_its_field(db):
    with pytest.raises(RegistryInputError) as caught:
        check(db, 404, T0)
    assert caught.value.field == "use_case"
    assert caught.value.message.startswith("There is no use case #404")

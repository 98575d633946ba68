"""Registry surfaces at their largest: every field full, every list long — still valid Block
Kit, within Slack's limits, and saying what it left out."""

import json
from datetime import date

import pytest
from slack_sdk.models.views import View

from blocks import registry as registry_blocks
from blocks.digest import registry_digest
from blocks.home import home_view
from blocks.registry_forms import record_modal, vendor_review_modal
from services.registry import fields
from tests.unit.test_blocks import VIEW_BLOCKS, assert_valid_message

NOW = "2026-03-02T09:00:00+00:00"


def summary(kind="usecase", n=1, **extra):
    return {"kind": kind, "id": n, "ref": f"{'UC' if kind == 'usecase' else 'V'}-{n}",
            "title": "T" * 150, "owner": "U0OWNER", "status": "requires_follow_up", "risk": "prohibited",
            "next_review_at": NOW, "last_reviewed_at": NOW, "last_reviewed_by": "U0REV",
            "due_state": "overdue", "days_to_review": -400, "snoozes": 3,
            "flags": [{"vendor_id": i, "ref": f"V-{i}", "name": "N" * 150, "review_status": "not_started"}
                      for i in range(50)] if kind == "usecase" else [], **extra}


def largest_record(kind):
    view = summary(kind)
    for spec in fields.FIELDS[kind]:
        if spec.kind in (fields.TEXT, fields.LONG_TEXT, fields.URL):
            view[spec.name] = "x" * spec.limit
        elif spec.kind == fields.CHOICE:
            view[spec.name] = spec.values[-1]
        elif spec.kind == fields.USER:
            view[spec.name] = "U0PERSON"
        elif spec.kind == fields.USERS:
            view[spec.name] = [f"U0C{i}" for i in range(20)]
        elif spec.kind == fields.MODELS:
            view[spec.name] = [{"provider": "p" * 30, "model": "m" * 30, "version": "v" * 20,
                                "hosting": "h" * 20}] * fields.MODELS_MAX
        elif spec.kind == fields.LINKS:
            view[spec.name] = [{"id": i, "ref": f"X-{i}", "title": "L" * 150, "status": "in_review"}
                               for i in range(fields.LINKS_MAX)]
    view["history"] = [{"field": "description", "old": "a", "new": "b", "by": "U0X", "at": NOW}] * 20
    return view


def largest_nudge(stage):
    return {**summary(), "stage": stage, "number": 9, "recipient": "U0OWNER", "tag": NOW, "snoozes_left": 3}


def largest_digest(personal=None):
    waiting = [{"id": i, "title": "W" * 150, "kind": "launch", "audience": "external", "requester": "U0REQ",
                "channel": "C0APP", "age_days": 400, "created_at": NOW,
                "holders": [f"U0H{j}" for j in range(40)], "holder_groups": ["S0LEGAL", "S0ENG"]}
               for i in range(10)]
    incidents = [{"id": i, "title": "I" * 150, "severity": "sev1", "status": "open", "channel": "C0INC",
                  "acknowledged_by": None, "opened_at": NOW, "age_days": 3} for i in range(10)]
    page = {"total": 100_000, "items": [summary(n=i) for i in range(10)]}
    return {"generated_at": NOW, "personal": personal, "week": "2026-W10",
            "home_link": "slack://app?team=T0001&id=A0001&tab=home",
            "waiting": {"total": 100_000, "items": waiting}, "due": page,
            "vendors": {"total": 5000, "items": [summary("vendor", i) for i in range(10)]},
            "flagged": page, "incidents": {"total": 120, "items": incidents},
            "changes": [{"action": "approval.requested", "label": "sign-offs requested", "count": 12345}]}


SAMPLES = {
    "registry_nudge": largest_nudge("overdue"),
    "registry_raise": {**summary(), "days_overdue": 400},
    "registry_digest": largest_digest(),
}


@pytest.mark.parametrize("kind", ["usecase", "vendor"])
def test_a_full_record_fits_a_message_and_says_what_it_cut(kind):
    message = registry_blocks.record_message(largest_record(kind))
    assert_valid_message(message)
    text = json.dumps(message)
    assert "more characters" in text  # a 3,000-character field is cut, and says so
    assert "Edit" in text and "Mark reviewed" in text


def buttons(message):
    return {e["action_id"]: e["text"]["text"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


@pytest.mark.parametrize("stage", ["due", "overdue"])
def test_nudges_offer_the_three_answers(stage):
    message = registry_blocks.registry_nudge(largest_nudge(stage))
    assert_valid_message(message)
    actions = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == [registry_blocks.STILL_ACCURATE, registry_blocks.UPDATE, registry_blocks.SNOOZE]


def test_a_due_soon_nudge_offers_no_snooze():
    # Snoozing puts off a review that is due; before the date there is nothing to put off.
    message = registry_blocks.registry_nudge(largest_nudge("soon"))
    assert_valid_message(message)
    assert list(buttons(message)) == [registry_blocks.STILL_ACCURATE, registry_blocks.UPDATE]


@pytest.mark.parametrize(("snooze_for", "label"), [("3d", "Snooze 3d"), ("12h", "Snooze 12h"), (None, "Snooze")])
def test_the_snooze_button_says_the_playbooks_snooze(snooze_for, label):
    message = registry_blocks.registry_nudge({**largest_nudge("due"), "snooze_for": snooze_for})
    assert buttons(message)[registry_blocks.SNOOZE] == label


@pytest.mark.parametrize(("days", "words"), [(-1, "is 1 day overdue"), (-15, "is 15 days overdue")])
def test_an_overdue_nudge_counts_days(days, words):
    message = registry_blocks.registry_nudge({**largest_nudge("overdue"), "days_to_review": days})
    assert words in message["text"]


def test_dates_are_the_playbooks_days_not_utcs():
    # 23:30 UTC on 1 April is already 2 April in Berlin.
    view = {**largest_nudge("soon"), "next_review_at": "2026-04-01T23:30:00+00:00", "next_review_on": "2026-04-02",
            "timezone": "Europe/Berlin"}
    assert "is due for review on 2026-04-02." in registry_blocks.registry_nudge(view)["text"]
    raised = registry_blocks.registry_raise({**view, "days_overdue": 1, "last_reviewed_on": "2026-01-02"})
    assert "1 day past its review date (2026-04-02)" in raised["text"] and "last reviewed 2026-01-02" in raised["text"]


def test_no_snooze_button_once_snoozes_are_spent():
    message = registry_blocks.registry_nudge({**largest_nudge("due"), "snoozes_left": 0})
    actions = [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert registry_blocks.SNOOZE not in actions


@pytest.mark.parametrize("personal", [None, "U0ME"])
def test_the_largest_digest_is_one_valid_message_and_counts_what_it_leaves_out(personal):
    message = registry_digest(largest_digest(personal))
    assert_valid_message(message)
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    texts += [e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    joined = "\n".join(texts)
    assert "…and 99990 more: see <slack://app?team=T0001&id=A0001&tab=home|App Home>" in joined
    assert ("12345 sign-offs requested" in joined) is (personal is None)


def test_a_digest_without_a_home_link_points_to_the_tab_in_words():
    message = registry_digest({**largest_digest(), "home_link": None})
    assert "see Countersign's *Home* tab" in json.dumps(message)


def test_list_message_pages():
    items = [summary(n=i) for i in range(20)]
    message = registry_blocks.list_message("usecase", "stale", items, 95, offset=20, page_size=20)
    assert_valid_message(message)
    assert "`/ai-usecase list stale 3`" in json.dumps(message)


@pytest.mark.parametrize("kind", ["usecase", "vendor"])
@pytest.mark.parametrize("mode", ["new", "edit"])
def test_record_forms_are_valid_views_with_one_input_per_field(kind, mode):
    links = [(i, "L" * 200) for i in range(300)]
    view = record_modal(kind, mode=mode, record=largest_record(kind) if mode == "edit" else None,
                        links=links, metadata="12:C0CHAN", today=date(2026, 3, 2))
    View(**view).validate_json()
    assert len(view["blocks"]) <= VIEW_BLOCKS
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    expected = [s.name for s in fields.FIELDS[kind] if mode == "edit" or s.on_new]
    assert inputs == expected


def test_vendor_review_form_is_valid():
    View(**vendor_review_modal({**largest_record("vendor"), "assignee": "U0A"})).validate_json()


def test_app_home_with_every_section_full_stays_within_100_blocks():
    waiting = [{"id": i, "kind": "code", "audience": "internal", "title": "t" * 150, "reference": "r" * 500,
                "requester": "U0REQ", "revision": 1, "status": "pending", "approvals_count": 0,
                "policy": {"required": 2, "approvers": ["a"], "distinct_groups": False}}
               for i in range(11)]
    page = {"items": [summary(n=i) for i in range(10)], "total": 500, "offset": 10}
    incidents = {"items": [{"id": i, "title": "I" * 150, "severity": "sev1", "status": "open",
                            "channel": "C0INC", "acknowledged_by": None} for i in range(5)],
                 "total": 50, "offset": 0}
    view = home_view(waiting=waiting, mine=waiting, notice="n" * 4000, records=page,
                     vendors={**page, "items": page["items"][:5]}, incidents=incidents,
                     on_call=[(f"rot{i}", "U0ON") for i in range(30)])
    View(**view).validate_json()
    assert len(view["blocks"]) <= VIEW_BLOCKS
    pagers = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" and b["block_id"].startswith("page-")
              for e in b["elements"]]
    assert "home_page_prev_records" in pagers and "home_page_next_records" in pagers
    assert "home_page_next_incidents" in pagers


def test_the_digest_says_when_on_the_playbooks_clock():
    message = registry_digest({**largest_digest(), "timezone": "Europe/Berlin"})
    assert "As of 2026-03-02 10:00 CET" in json.dumps(message)

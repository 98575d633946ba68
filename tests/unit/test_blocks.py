"""Every Block Kit payload we render parses with slack_sdk's models and fits Slack's limits."""

import json

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks.help import COMMANDS, help_message, not_available_message
from blocks.home import home_view
from blocks.playbook import (
    playbook_applied,
    playbook_refused,
    reload_answer,
    summary_answer,
    usergroup_unresolved,
)
from blocks import approval_modals
from blocks.approvals import TEMPLATES as APPROVAL_TEMPLATES
from blocks.incidents import TEMPLATES as INCIDENT_TEMPLATES
from blocks.home import home_view as home_with
from blocks.templates import TEMPLATES
from services.approvals import AI_TOOL_MAX, REASON_MAX, REFERENCE_MAX, SUMMARY_MAX, TITLE_MAX
from services.playbook import load_playbook, summary
from tests.harness.server import EXAMPLE_PLAYBOOK

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_LIMIT = 3000


def assert_valid_message(message: dict) -> None:
    assert message["text"], "a fallback text for notifications and screen readers"
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MESSAGE_BLOCKS
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()  # raises on Slack's per-field limits
        text = raw.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= TEXT_LIMIT


@pytest.mark.parametrize("focus", [None] + [c.name for c in COMMANDS])
def test_help(focus):
    assert_valid_message(help_message(focus, error="`x` is not something it understands."))


def test_not_available():
    assert_valid_message(not_available_message("/ai-vendor", "list", "the vendor registry"))


def test_home_view_is_a_valid_view():
    view = home_view()
    assert len(view["blocks"]) <= VIEW_BLOCKS
    View(**view).validate_json()


def test_every_template_is_registered_and_renders():
    samples = {
        "playbook_applied": {"path": "playbook.yaml", "hash": "abc", "previous": "def",
                             "version": 1, "actor": "U1", "trigger": "/ai-playbook reload"},
        "playbook_refused": {"path": "playbook.yaml", "kept": "abc", "refused": "def",
                             "issues": ["playbook.yaml:3: timezone: found 'x', expected y"],
                             "actor": "system", "trigger": "SIGHUP"},
        "usergroup_unresolved": {"group": "legal", "error": "no_such_subteam", "hash": "abc"},
    }
    samples |= {name: largest_view() for name in APPROVAL_TEMPLATES}
    samples |= {name: largest_incident() for name in INCIDENT_TEMPLATES}
    samples["oncall_override"] = {
        "override": {"id": 1, "rotation": "ai-primary", "user": "U0SUB", "start": "2026-12-24T18:00:00+01:00",
                     "end": "2026-12-27T09:00:00+01:00", "created_by": "U0ADMIN",
                     "created_at": "2026-12-01T10:00:00+00:00", "cancelled": False,
                     "covered": ["U0PRI1"]},
        "event": {"type": "override_added", "actor": "U0ADMIN"}, "recipient": "U0SUB"}
    from tests.unit.test_registry_blocks import SAMPLES as REGISTRY_SAMPLES

    samples |= REGISTRY_SAMPLES
    from tests.unit.test_usage_alert_blocks import SAMPLES as USAGE_ALERT_SAMPLES

    samples |= USAGE_ALERT_SAMPLES
    samples["audit_checkpoint"] = {
        "size": 12, "root_hash": "ab" * 32, "signed": True, "at": "2026-12-01T09:00:00+00:00",
        "note": "countersign/audit\n12\nq83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=\n\n"
                "\u2014 countersign/audit AAAA\n"}
    assert set(TEMPLATES) == set(samples)
    for name, data in samples.items():
        assert_valid_message(TEMPLATES[name](data))
    assert playbook_applied is TEMPLATES["playbook_applied"]
    assert usergroup_unresolved is TEMPLATES["usergroup_unresolved"]


def test_a_huge_refusal_stays_within_limits_and_says_what_it_left_out():
    issues = [f"playbook.yaml:{n}: groups.g{n}.members[0]: found 'x', expected a Slack user ID "
              + "U…" * 40 for n in range(2000)]
    message = playbook_refused({"path": "p.yaml", "kept": "a", "refused": "b", "issues": issues,
                                "actor": "system", "trigger": "SIGHUP"})
    assert_valid_message(message)
    last_texts = [b["text"]["text"] for b in message["blocks"] if b.get("text")]
    assert any(t.startswith("…and ") and "more: run `countersign playbook check`" in t
               for t in last_texts)
    shown = sum(t.count("playbook.yaml:") for t in last_texts)
    left_out = int(next(t for t in last_texts if t.startswith("…and ")).split()[1])
    assert shown + left_out == 2000


def test_summary_answer_for_the_example():
    pb = load_playbook(EXAMPLE_PLAYBOOK).playbook
    message = summary_answer(summary(pb), short_hash="abc123", problems={"legal": "no_such_subteam"})
    assert_valid_message(message)
    assert message["response_type"] == "ephemeral"


@pytest.mark.parametrize("status,issues", [("applied", []), ("unchanged", []),
                                           ("refused", ["a: found b, expected c"] * 3)])
def test_reload_answers(status, issues):
    assert_valid_message(reload_answer(status, hash_="abc", issues=issues))


def largest_view(votes: int = 25, checklist: int = 12) -> dict:
    """A request at every limit the service allows, with 25 decisions on it."""
    vote = {"user": "U0REVIEWER1", "decision": "approve", "group": "g" * 40,
            "reason": "r" * REASON_MAX, "at": "2026-03-02T09:00:00+00:00", "break_glass": True,
            "confirmations": ["item-0"]}
    items = [{"id": f"item-{i}", "text": "Checklist item text " * 10} for i in range(checklist)]
    return {
        "id": 123456, "kind": "launch", "audience": "external", "title": "T" * TITLE_MAX,
        "reference": "https://example.com/" + "p" * (REFERENCE_MAX - 20),
        "ai_tool": "A" * AI_TOOL_MAX, "summary": "S" * SUMMARY_MAX, "requester": "U0REQUESTER",
        "origin_channel": "C0TEAM", "channel": "C0APPROVE", "status": "pending", "revision": 7,
        "created_at": "2026-03-02T09:00:00+00:00", "updated_at": "2026-03-02T09:00:00+00:00",
        "decided_at": None, "expires_at": "2026-03-16T09:00:00+00:00", "break_glass": False,
        "state_version": 40,
        "policy": {"required": 30, "distinct_groups": True,
                   "approvers": [f"group-{i}" for i in range(10)], "checklist": items,
                   "high_assurance": True, "self_approval": "never", "remind_after": "1d",
                   "expire_after": "2w"},
        "votes": [dict(vote, user=f"U0REV{i:04d}") for i in range(votes)],
        "dismissed_count": 12,
        "checklist_confirmed": [{"item": i["id"], "user": "U0REVIEWER1"} for i in items],
        "approvals_count": votes, "final": False, "playbook_hash": "abcdef123456",
        "playbook_version": 1,
        "event": "vote", "actor": "U0REV0001", "last_vote": vote, "recipient": "U0REV0002",
        "approvers_to_notify": [f"U0REV{i:04d}" for i in range(60)],
        "usergroups_to_notify": ["S0LEGAL"], "note": "n" * 500, "reminder_number": 3,
    }


@pytest.mark.parametrize("status", ["pending", "approved", "rejected", "changes_requested",
                                    "cancelled", "expired"])
@pytest.mark.parametrize("name", sorted(APPROVAL_TEMPLATES))
def test_approval_messages_at_their_largest_fit_slacks_limits(name, status):
    view = largest_view()
    view["status"] = status
    assert_valid_message(APPROVAL_TEMPLATES[name](view))


def test_the_request_message_keeps_all_25_votes():
    message = APPROVAL_TEMPLATES["approval_request"](largest_view())
    assert sum("U0REV00" in json.dumps(b) for b in message["blocks"]) == 25


@pytest.mark.parametrize("build", [
    lambda v: approval_modals.reason_modal(v, "reject"),
    lambda v: approval_modals.reason_modal(v, "request_changes"),
    approval_modals.confirm_modal,
    approval_modals.resubmit_modal,
    approval_modals.break_glass_modal,
])
def test_approval_modals_are_valid_views(build):
    view = largest_view()
    view["checklist_confirmed"] = []
    modal = build(view)
    assert len(modal["blocks"]) <= VIEW_BLOCKS
    View(**modal).validate_json()


def test_the_new_request_modal_with_a_large_playbook():
    modal = approval_modals.new_request_modal(
        kinds=[f"kind-{i}" for i in range(120)],
        uses=[(f"use-{i}", "An AI use described at length " * 5) for i in range(120)],
        checklists={f"kind-{i}": [f"item-{j}" for j in range(12)] for i in range(120)},
        channel="C0TEAM")
    View(**modal).validate_json()


def test_app_home_with_many_requests_stays_within_100_blocks():
    views = [largest_view(votes=3) for _ in range(500)]
    home = home_with(waiting=views, mine=views, notice="n" * 5000)
    assert len(home["blocks"]) <= VIEW_BLOCKS
    View(**home).validate_json()


def largest_incident(status: str = "open", event_type: str = "paged") -> dict:
    return {
        "id": 99999, "severity": "sev1", "severity_description": "d" * 300,
        "title": "T" * 150, "category": "data_exposure", "category_label": "Data exposure",
        "description": "D" * 3000, "reporter": "U0REPORTER",
        "source_permalink": "https://acme.slack.com/archives/C1/p1", "affected": "A" * 200,
        "status": status, "final": status == "resolved", "channel": "C0INCIDENT",
        "channel_name": "ai-inc-20261125-x", "announce_channel": "C0INC",
        "governance_channel": "C0GOV", "summary_channel": "C0INCIDENT",
        "opened_at": "2026-11-25T09:00:00+00:00", "updated_at": "2026-11-25T09:00:00+00:00",
        "acknowledged_by": "U0PRI1", "acknowledged_at": "2026-11-25T09:07:00+00:00",
        "resolved_by": "U0PRI1", "resolved_at": "2026-11-25T10:00:00+00:00",
        "resolution_summary": "S" * 3000, "postmortem_url": "https://wiki.example/pm/1",
        "revisit_usecase": True, "last_update_at": None, "update_every": "30m",
        "update_snoozed_until": None, "next_reminder_at": None, "escalation_run": 3,
        "chain": {"policy": "critical", "repeat": 10, "incident_channel": True,
                  "steps": [{"target": f"rotation:rotation-{i}", "wait": "5m"} for i in range(20)]},
        "pages": [{"user": f"U0P{i:04d}", "channel": None, "target": "group:everyone",
                   "round": i // 20, "step": i % 20, "at": "2026-11-25T09:00:00+00:00"}
                  for i in range(300)],
        "protocol": [{"id": f"p{i}", "text": "Protocol item " * 20} for i in range(8)],
        "playbook_version": 1, "playbook_hash": "abcdef123456", "state_version": 9,
        "event": {"type": event_type, "actor": "U0PRI1", "at": "2026-11-25T09:00:00+00:00",
                  "round": 2, "step": 4, "target": "rotation:ai-primary", "user": "U0PRI1",
                  "users": [f"U0P{i:04d}" for i in range(200)], "channels": ["C0GOV"],
                  "text": "U" * 3000, "minutes": 30, "reason": "name_taken"},
        "recipient": "U0PRI1",
    }


@pytest.mark.parametrize("status", ["open", "acknowledged", "resolved"])
@pytest.mark.parametrize("event_type", ["opened", "paged", "acknowledged", "unacknowledged",
                                        "resolved", "reopened", "update_posted", "snoozed",
                                        "channel_failed", "step_skipped", "exhausted"])
@pytest.mark.parametrize("name", sorted(INCIDENT_TEMPLATES))
def test_incident_messages_at_their_largest_fit_slacks_limits(name, status, event_type):
    assert_valid_message(INCIDENT_TEMPLATES[name](largest_incident(status, event_type)))


def test_incident_modals_are_valid_views():
    from blocks import incidents

    view = largest_incident()
    for modal in (incidents.new_incident_modal(severities=[(f"sev{i}", "x" * 200) for i in range(120)],
                                               title="t" * 150, description="d" * 3000),
                  incidents.resolve_modal(view), incidents.update_modal(view)):
        assert len(modal["blocks"]) <= VIEW_BLOCKS
        View(**modal).validate_json()


def test_a_long_timeline_fits_and_says_what_it_left_out():
    from blocks.incidents import timeline_answer

    entries = [{"at": "2026-11-25T09:00:00+00:00", "text": "x" * 200} for _ in range(2000)]
    message = timeline_answer(largest_incident(), entries)
    assert_valid_message(message)
    assert "later entries" in json.dumps(message["blocks"][-2])


def test_a_page_dm_taken_by_someone_says_who_and_when_on_the_playbooks_clock():
    view = {**largest_incident("acknowledged", "acknowledged"), "timezone": "Europe/Berlin",
            "acknowledged_by": "U0SEC1", "acknowledged_at": "2026-11-25T07:32:00+00:00"}
    taken = INCIDENT_TEMPLATES["incident_page"](view)
    assert "Acknowledge to stop the escalation" not in json.dumps(taken)
    assert "<@U0SEC1> acknowledged it <!date^1795591920^{date_short_pretty} {time}|2026-11-25 08:32 CET>" \
        in taken["text"]
    resolved = INCIDENT_TEMPLATES["incident_page"]({**view, "status": "resolved", "resolved_by": "U0PRI1",
                                                     "resolved_at": "2026-11-25T09:00:00+00:00"})
    assert "<@U0PRI1> resolved it <!date^" in resolved["text"] and "|2026-11-25 10:00 CET>." in resolved["text"]
    still_open = INCIDENT_TEMPLATES["incident_page"]({**view, "status": "open"})
    assert still_open["text"].endswith("Acknowledge to stop the escalation.")

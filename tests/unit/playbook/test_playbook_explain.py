"""`explain` and snapshots against hand-computed expectations."""

from datetime import UTC, datetime

import pytest

from services.playbook import (
    ApprovalPolicy,
    EscalationChain,
    UnknownName,
    approval_policy,
    chain_end,
    escalation_chain,
    explain_approval,
    explain_escalation,
    load_playbook_text,
    planned_pages,
    summary,
)
from services.playbook.schema import GroupTarget, RotationTarget, UserTarget

PLAYBOOK = """\
version: 1
timezone: Europe/Berlin
admins: [U0ADMIN1]
groups:
  leads: {members: [U0LEAD1, U0LEAD2]}
  legal: {usergroup: S0LEGAL}
channels: {governance: C0GOV, approvals: C0APPR}
approvals:
  code: {approvers: [leads], self_approval: break_glass}
  launch:
    internal: {approvers: [leads], required: 1}
    external:
      approvers: [leads, legal]
      required: 2
      distinct_groups: true
      checklist: [privacy-review, {id: red-team, text: Red-teamed by security}]
      remind_after: 1h30m
      expire_after: 3d
      high_assurance: true
      channel: governance
off_limits:
  - {id: covert-profiling, text: No inference of protected attributes.}
escalation:
  severities:
    sev1: {policy: critical, incident_channel: true, update_every: 30m}
    sev3: {policy: low}
  policies:
    critical:
      steps:
        - {notify: "rotation:primary", wait: 5m}
        - {notify: "group:leads", wait: 10m}
        - {notify: "user:U0BOSS", wait: 15m}
      repeat: 1
    low:
      steps:
        - {notify: "channel:governance"}
  rotations:
    primary: {members: [U0ALICE, U0BOB], handoff: mon 09:00, shift: 1w, start: 2026-03-23}
"""


@pytest.fixture
def pb():
    return load_playbook_text(PLAYBOOK).playbook


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_explain_approval_external_launch(pb):
    assert explain_approval(pb, "launch", "external", {}) == (
        "Sign-off for launch (external audience)\n"
        "Needs 2 approvals, each from a different group of: leads, legal.\n"
        "Who may approve now:\n"
        "  leads: U0LEAD1, U0LEAD2\n"
        "  legal: members of usergroup S0LEGAL\n"
        "Self-approval: never — the requester's own approval does not count.\n"
        "Checklist (every approver confirms each item):\n"
        "  - privacy-review: Privacy review completed (personal data, retention, DPIA where needed)\n"
        "  - red-team: Red-teamed by security\n"
        "Reminder: after 1 hour 30 minutes if still open. Expiry: after 3 days.\n"
        "High assurance: yes — each checklist item is confirmed one by one; break-glass self-approval is refused.\n"
        "Requests are posted in C0GOV (governance)."
    )


def test_explain_approval_uses_resolved_usergroup_members(pb):
    text = explain_approval(pb, "launch", "external", {"legal": ["U0LAW1", "U0LAW2"]})
    assert "  legal: U0LAW1, U0LAW2\n" in text


def test_explain_approval_single_rule_and_both_audiences(pb):
    code = explain_approval(pb, "code")
    assert code.startswith("Sign-off for code (any audience)\nNeeds 1 approval from members of: leads.\n")
    assert "Self-approval: break glass — the requester may approve their own request in an emergency" in code
    assert "Checklist: none.\nReminder: none. Expiry: never.\nRequests are posted in C0APPR (approvals)." in code
    both = explain_approval(pb, "launch")
    assert "Sign-off for launch (internal audience)" in both and "Sign-off for launch (external audience)" in both


def test_unknown_kind_and_severity_name_the_known_ones(pb):
    with pytest.raises(UnknownName, match=r"no approval kind 'deploy' in the playbook \(known: code, launch\)"):
        explain_approval(pb, "deploy")
    with pytest.raises(UnknownName, match=r"no severity 'sev2' in the playbook \(known: sev1, sev3\)"):
        explain_escalation(pb, "sev2", z(2026, 1, 1))


def test_explain_escalation_pages_whoever_is_on_call_when_each_step_fires(pb):
    # Opened Mon 2026-03-30 08:58 CEST. U0ALICE holds the shift that began Mon 03-23; U0BOB's
    # begins at 09:00 CEST, between the first page and the repeat 30 minutes later.
    assert explain_escalation(pb, "sev1", z(2026, 3, 30, 6, 58), {}) == (
        "Escalation for sev1\n"
        "Policy: critical. Incident channel: yes, a dedicated channel is opened. Status updates: every 30 minutes.\n"
        "Announced in C0GOV (governance).\n"
        "If opened at Mon 30 Mar 2026 08:58 CEST (Europe/Berlin), pages until someone acknowledges:\n"
        "  round 1 of 2\n"
        "    +0m      Mon 30 Mar 2026 08:58 CEST  rotation:primary → U0ALICE\n"
        "    +5m      Mon 30 Mar 2026 09:03 CEST  group:leads → U0LEAD1, U0LEAD2\n"
        "    +15m     Mon 30 Mar 2026 09:13 CEST  user:U0BOSS → U0BOSS\n"
        "  round 2 of 2\n"
        "    +30m     Mon 30 Mar 2026 09:28 CEST  rotation:primary → U0BOB\n"
        "    +35m     Mon 30 Mar 2026 09:33 CEST  group:leads → U0LEAD1, U0LEAD2\n"
        "    +45m     Mon 30 Mar 2026 09:43 CEST  user:U0BOSS → U0BOSS\n"
        "Unacknowledged at Mon 30 Mar 2026 09:58 CEST (+1h), the chain is exhausted."
    )


def test_explain_escalation_across_the_spring_gap(pb):
    # Opened Sun 2026-03-29 01:58 CET (00:58Z); 5 minutes later it is 03:03 CEST, not 02:03.
    text = explain_escalation(pb, "sev1", z(2026, 3, 29, 0, 58))
    assert "    +0m      Sun 29 Mar 2026 01:58 CET  rotation:primary → U0ALICE\n" in text
    assert "    +5m      Sun 29 Mar 2026 03:03 CEST  group:leads → U0LEAD1, U0LEAD2\n" in text
    assert "    +30m     Sun 29 Mar 2026 03:28 CEST  rotation:primary → U0ALICE\n" in text


def test_explain_escalation_without_waits_or_repeats(pb):
    text = explain_escalation(pb, "sev3", z(2026, 6, 1, 10, 0))
    assert "Incident channel: no. Status updates: none scheduled." in text
    assert "    +0m      Mon 01 Jun 2026 12:00 CEST  channel:governance → the governance channel C0GOV\n" in text
    assert "round" not in text
    assert text.endswith("After the last step it waits for an acknowledgement; there is no further step.")


def test_approval_snapshot_is_self_contained_json(pb):
    policy = approval_policy(pb, "launch", "external")
    assert policy.model_dump(mode="json") == {
        "kind": "launch",
        "audience": "external",
        "approvers": [
            {"name": "leads", "members": ["U0LEAD1", "U0LEAD2"], "usergroup": None},
            {"name": "legal", "members": [], "usergroup": "S0LEGAL"},
        ],
        "required": 2,
        "distinct_groups": True,
        "self_approval": "never",
        "checklist": [
            {"id": "privacy-review", "text": "Privacy review completed (personal data, retention, DPIA where needed)"},
            {"id": "red-team", "text": "Red-teamed by security"},
        ],
        "remind_after": "1h30m",
        "expire_after": "3d",
        "high_assurance": True,
        "channel": "C0GOV",
        "require_documented_use_case": False,
    }
    stored = policy.model_dump(mode="json") | {"field_from_a_later_release": 1}
    assert ApprovalPolicy.model_validate(stored) == policy
    assert approval_policy(pb, "code", "external").audience == "external"


def test_snapshot_is_unchanged_by_a_later_edit(pb):
    before = approval_policy(pb, "launch", "external")
    edited = load_playbook_text(PLAYBOOK.replace("leads: {members: [U0LEAD1, U0LEAD2]}", "leads: {members: [U0LEAD3]}").replace("required: 2", "required: 1")).playbook
    after = approval_policy(edited, "launch", "external")
    assert (before.required, before.approvers[0].members) == (2, ("U0LEAD1", "U0LEAD2"))
    assert (after.required, after.approvers[0].members) == (1, ("U0LEAD3",))


def test_escalation_snapshot_round_trips_typed_targets(pb):
    chain = escalation_chain(pb, "sev1")
    dumped = chain.model_dump(mode="json")
    assert dumped["steps"] == [
        {"notify": "rotation:primary", "wait": "5m"},
        {"notify": "group:leads", "wait": "10m"},
        {"notify": "user:U0BOSS", "wait": "15m"},
    ]
    restored = EscalationChain.model_validate(dumped)
    assert restored == chain
    assert restored.steps[0].notify == RotationTarget(name="primary")
    assert restored.steps[1].notify == GroupTarget(name="leads")
    assert restored.steps[2].notify == UserTarget(user="U0BOSS")


def test_planned_pages_add_waits_in_elapsed_time(pb):
    chain = escalation_chain(pb, "sev1")
    start = z(2026, 3, 29, 0, 58)
    pages = planned_pages(chain, start)
    assert [(p.round, p.step, p.at) for p in pages] == [
        (1, 1, z(2026, 3, 29, 0, 58)),
        (1, 2, z(2026, 3, 29, 1, 3)),
        (1, 3, z(2026, 3, 29, 1, 13)),
        (2, 1, z(2026, 3, 29, 1, 28)),
        (2, 2, z(2026, 3, 29, 1, 33)),
        (2, 3, z(2026, 3, 29, 1, 43)),
    ]
    assert chain_end(chain, start) == z(2026, 3, 29, 1, 58)
    assert chain_end(escalation_chain(pb, "sev3"), start) is None


def test_summary_fits_one_screen_and_says_who_is_on_call(pb):
    text = summary(pb, now=z(2026, 3, 30, 7, 0))
    assert text.splitlines()[0] == "Playbook v1 (Europe/Berlin)"
    assert "  launch/external: 2 of leads, legal (distinct groups) · checklist: privacy-review, red-team · remind 1h30m · expire 3d · high assurance" in text
    assert "  code: 1 of leads · break-glass self-approval" in text
    assert "  - No inference of protected attributes." in text
    assert "  sev1 → critical: 3 steps, repeats 1×, incident channel, updates every 30m" in text
    assert "  rotation primary: 2 people, 1w shifts from mon 09:00; on call now: U0BOB" in text
    assert "Groups: leads (2), legal (usergroup S0LEGAL)" in text
    assert len(text.splitlines()) <= 40


def test_summary_of_the_example(example_path):
    from services.playbook import load_playbook

    text = summary(load_playbook(example_path).playbook)
    assert len(text.splitlines()) <= 40
    assert "on call now" not in text  # only with `now`

"""A table of broken playbooks: each mistake yields its own path, line and wording."""

import pytest

from services.playbook import load_playbook_text

# Lines 1–7 of every case; a case's own text starts on line 8.
HEADER = """\
version: 1
timezone: Europe/Berlin
admins: [U01ADMIN]
groups:
  eng-leads: {members: [U01AAA, U01BBB]}
  legal: {usergroup: S01LEGAL}
channels: {governance: C01GOV, approvals: C01APPROVE}
"""

ESCALATION = """\
escalation:
  severities:
    sev1: {policy: critical}
  policies:
    critical:
      steps:
        - {notify: "rotation:primary", wait: 5m}
        - {notify: "group:eng-leads", wait: 10m}
      repeat: 1
  rotations:
    primary: {members: [U01AAA, U01BBB], handoff: "mon 09:00", shift: 1w}
"""  # lines 8–18: severities 9–10, policies 11–16, steps 14–15, repeat 16, rotation 18


def header(old: str, new: str) -> str:
    assert old in HEADER
    return HEADER.replace(old, new)


def tail(text: str) -> str:
    return HEADER + text


def escalation(old: str, new: str) -> str:
    assert old in ESCALATION
    return HEADER + ESCALATION.replace(old, new)


CASES = [
    # (id, document, line, path, words the message must contain)
    ("version", header("version: 1", "version: 2"), 1, "version", ["found 2", "expected 1 (the only playbook format"]),
    ("version-bool", header("version: 1", "version: true"), 1, "version", ["found true", "expected 1"]),
    ("timezone", header("Europe/Berlin", "Europe/Berln"), 2, "timezone", ["found 'Europe/Berln'", "IANA time zone", "did you mean Europe/Berlin?"]),
    ("admin-id", header("[U01ADMIN]", "[u01admin]"), 3, "admins[0]", ["found 'u01admin'", "a Slack user ID like U01ABCDEF"]),
    ("no-admins", header("[U01ADMIN]", "[]"), 3, "admins", ["found an empty list", "at least one Slack user ID"]),
    (
        "group-both",
        header("{usergroup: S01LEGAL}", "{usergroup: S01LEGAL, members: [U01CCC]}"),
        6,
        "groups.legal",
        ["found both members and usergroup", "expected either members: [user IDs] or usergroup: S… (exactly one of the two)"],
    ),
    ("group-neither", header("{usergroup: S01LEGAL}", "{}"), 6, "groups.legal", ["found neither members nor usergroup"]),
    ("group-empty-members", header("{usergroup: S01LEGAL}", "{members: []}"), 6, "groups.legal.members", ["found an empty list", "an empty group can never approve"]),
    ("usergroup-id", header("S01LEGAL", "legal-team"), 6, "groups.legal.usergroup", ["found 'legal-team'", "a Slack user group ID like S01ABCDEF"]),
    ("group-name", header("  legal:", "  Legal Team:"), 6, "groups.Legal Team", ["found 'Legal Team'", "lower-case letters, digits and dashes"]),
    ("no-governance", header("governance: C01GOV, ", ""), 7, "channels.governance", ["found nothing", "expected this required key"]),
    ("channel-role-typo", header("approvals: C01APPROVE", "approval: C01APPROVE"), 7, "channels.approval", ["found unknown key 'approval'", "one of governance, approvals, digest, incidents; did you mean approvals?"]),
    ("channel-id", header("C01GOV", "ai-governance"), 7, "channels.governance", ["found 'ai-governance'", "a Slack channel ID like C01ABCDEF"]),
    ("top-level-typo", tail("escalations: {}\n"), 8, "escalations", ["found unknown key 'escalations'", "did you mean escalation?"]),
    (
        "approval-key-typo",
        tail("approvals:\n  launch:\n    approvers: [eng-leads]\n    requird: 2\n"),
        11,
        "approvals.launch.requird",
        ["found unknown key 'requird'", "did you mean required?"],
    ),
    ("required-zero", tail("approvals:\n  code: {approvers: [eng-leads], required: 0}\n"), 9, "approvals.code.required", ["found 0, expected at least 1"]),
    ("required-text", tail("approvals:\n  code: {approvers: [eng-leads], required: two}\n"), 9, "approvals.code.required", ["found 'two', expected a whole number"]),
    (
        "unknown-approver-group",
        tail("approvals:\n  code:\n    approvers: [eng-leads, legl]\n"),
        10,
        "approvals.code.approvers[1]",
        ["found 'legl'", "the name of a group (eng-leads, legal; did you mean legal?)"],
    ),
    (
        "required-over-distinct-groups",
        tail("approvals:\n  launch: {approvers: [eng-leads, legal], required: 3, distinct_groups: true}\n"),
        9,
        "approvals.launch.required",
        ["found 3, expected at most 2 (distinct_groups is true and the approver groups are eng-leads, legal)"],
    ),
    (
        "required-over-members",
        tail("approvals:\n  launch:\n    approvers: [eng-leads]\n    required: 3\n"),
        11,
        "approvals.launch.required",
        ["found 3, expected at most 2 (the number of approvers in eng-leads)"],
    ),
    (
        "audience-missing",
        tail("approvals:\n  copy:\n    internal: {approvers: [eng-leads]}\n"),
        9,
        "approvals.copy.external",
        ["found nothing", "this required key (the rule for external, customer-facing use)"],
    ),
    ("audience-unknown", tail("approvals:\n  copy:\n    internal: {approvers: [eng-leads]}\n    partners: {approvers: [legal]}\n    external: {approvers: [legal]}\n"), 11, "approvals.copy.partners", ["found unknown key 'partners'", "one of internal, external"]),
    ("approval-not-a-mapping", tail("approvals:\n  launch: yes\n"), 9, "approvals.launch", ["found true", "a rule (approvers:, required:, …) or internal: and external: rules"]),
    ("kind-name", tail("approvals:\n  Launch: {approvers: [eng-leads]}\n"), 9, "approvals.Launch", ["found 'Launch'", "lower-case letters"]),
    ("self-approval", tail("approvals:\n  code: {approvers: [eng-leads], self_approval: sometimes}\n"), 9, "approvals.code.self_approval", ["found 'sometimes'", "one of 'never' or 'break_glass'"]),
    ("checklist-id", tail("approvals:\n  code:\n    approvers: [eng-leads]\n    checklist: [Privacy Review]\n"), 11, "approvals.code.checklist[0]", ["found 'Privacy Review'", "lower-case letters"]),
    ("checklist-duplicate", tail("approvals:\n  code:\n    approvers: [eng-leads]\n    checklist: [privacy-review, {id: privacy-review, text: Again}]\n"), 11, "approvals.code.checklist", ["found 'privacy-review' twice", "each checklist item once"]),
    (
        "reminder-after-expiry",
        tail("approvals:\n  code: {approvers: [eng-leads], remind_after: 7d, expire_after: 24h}\n"),
        9,
        "approvals.code.expire_after",
        ["found '24h'", "longer than remind_after (1w), or the reminder would never be sent"],
    ),
    ("duration-unit", tail("approvals:\n  code:\n    approvers: [eng-leads]\n    remind_after: 3mo\n"), 11, "approvals.code.remind_after", ["found '3mo'", "a duration like 90m, 24h, 7d, 1w or 1h30m (unknown unit 'mo'"]),
    ("duration-bare-number", tail("approvals:\n  code:\n    approvers: [eng-leads]\n    expire_after: 24\n"), 11, "approvals.code.expire_after", ["found 24", "a bare number has no unit; write e.g. 24m or 24d"]),
    (
        "high-assurance-break-glass",
        tail("approvals:\n  launch:\n    approvers: [eng-leads]\n    self_approval: break_glass\n    high_assurance: true\n"),
        12,
        "approvals.launch.high_assurance",
        ["found true", "high assurance forbids break-glass self-approval"],
    ),
    ("channel-role-unset", tail("approvals:\n  code: {approvers: [eng-leads], channel: digest}\n"), 9, "approvals.code.channel", ["found 'digest'", "a channel role set under channels (approvals, governance) or a channel ID"]),
    ("off-limits-duplicate", tail("off_limits:\n  - {id: covert-profiling, text: A}\n  - {id: covert-profiling, text: B}\n"), 10, "off_limits[1].id", ["found 'covert-profiling' again", "a unique id across allowed_uses and off_limits"]),
    ("off-limits-no-text", tail("off_limits:\n  - id: covert-profiling\n"), 9, "off_limits[0].text", ["found nothing", "the sentence shown to people"]),
    ("severity-policy", escalation("{policy: critical}", "{policy: critcal}"), 10, "escalation.severities.sev1.policy", ["found 'critcal'", "the name of an escalation policy (critical; did you mean critical?)"]),
    ("step-target-form", escalation('"group:eng-leads"', '"team:eng-leads"'), 15, "escalation.policies.critical.steps[1].notify", ["found 'team:eng-leads'", "one of 'rotation:NAME', 'group:NAME', 'user:U…', 'channel:governance'"]),
    ("step-user-id", escalation('"group:eng-leads"', '"user:bob"'), 15, "escalation.policies.critical.steps[1].notify", ["found 'user:bob'", "a Slack user ID"]),
    ("step-unknown-rotation", escalation('"rotation:primary"', '"rotation:primry"'), 14, "escalation.policies.critical.steps[0].notify", ["found 'rotation:primry'", "the name of a rotation (primary; did you mean primary?)"]),
    ("step-unknown-group", escalation('"group:eng-leads"', '"group:leads"'), 15, "escalation.policies.critical.steps[1].notify", ["found 'group:leads'", "the name of a group"]),
    ("step-channel-unset", escalation('"group:eng-leads"', '"channel:incidents"'), 15, "escalation.policies.critical.steps[1].notify", ["channels.incidents is not set"]),
    (
        "step-after-infinite-wait",
        escalation('"rotation:primary", wait: 5m}', '"rotation:primary"}'),
        15,
        "escalation.policies.critical.steps[1]",
        ["found a step after step 1, which has no wait", "steps after it would never be reached"],
    ),
    ("repeat-without-last-wait", escalation('"group:eng-leads", wait: 10m}', '"group:eng-leads"}'), 16, "escalation.policies.critical.repeat", ["found 1", "never repeats"]),
    ("repeat-too-many", escalation("repeat: 1", "repeat: 11"), 16, "escalation.policies.critical.repeat", ["found 11, expected at most 10"]),
    ("no-steps", escalation('      steps:\n        - {notify: "rotation:primary", wait: 5m}\n        - {notify: "group:eng-leads", wait: 10m}\n', "      steps: []\n"), 13, "escalation.policies.critical.steps", ["found an empty list", "at least one step"]),
    ("rotation-no-members", escalation("[U01AAA, U01BBB]", "[]"), 18, "escalation.rotations.primary.members", ["found no members", "a rotation with no members pages nobody"]),
    ("rotation-shift-days", escalation("shift: 1w", "shift: 3d"), 18, "escalation.rotations.primary.shift", ["found '3d'", "a whole number of weeks, as the handoff is on mon (use handoff: 'daily 09:00'"]),
    ("rotation-shift-hours", escalation('handoff: "mon 09:00", shift: 1w', 'handoff: "daily 09:00", shift: 12h'), 18, "escalation.rotations.primary.shift", ["found '12h'", "a whole number of days or weeks"]),
    ("rotation-two-handoffs", escalation('"mon 09:00"', '"mon,thu 09:00"'), 18, "escalation.rotations.primary.handoff", ["found 'mon,thu 09:00'", "one weekday and a time like 'mon 09:00', or 'daily 09:00'"]),
    ("handoff-time", escalation('"mon 09:00"', '"mon 9am"'), 18, "escalation.rotations.primary.handoff", ["found 'mon 9am'", "a schedule like 'mon 09:00'"]),
    (
        "override-unknown-rotation",
        HEADER + ESCALATION + "  overrides:\n    - {rotation: secondary, user: U01CCC, start: 2026-03-30 09:00, end: 2026-04-06 09:00}\n",
        20,
        "escalation.overrides[0].rotation",
        ["found 'secondary'", "the name of a rotation (primary)"],
    ),
    (
        "override-backwards",
        HEADER + ESCALATION + "  overrides:\n    - {rotation: primary, user: U01CCC, start: 2026-04-06 09:00, end: 2026-03-30 09:00}\n",
        20,
        "escalation.overrides[0].end",
        ["found 2026-03-30T09:00:00+02:00", "a moment after start (2026-04-06T09:00:00+02:00)"],
    ),
    (
        "override-date",
        HEADER + ESCALATION + "  overrides:\n    - rotation: primary\n      user: U01CCC\n      start: next monday\n      end: 2026-03-30 09:00\n",
        22,
        "escalation.overrides[0].start",
        ["found 'next monday'", "a date and time like 2026-03-30 09:00"],
    ),
    ("risk-tier", tail("documentation:\n  usecase_revisit_by_risk: {critical: 30d}\n"), 9, "documentation.usecase_revisit_by_risk.critical", ["found unknown key 'critical'", "one of prohibited, high, limited, minimal"]),
    ("digest-cron", tail("documentation:\n  digest: {cron: \"monday 09:00\"}\n"), 9, "documentation.digest.cron", ["found 'monday 09:00'", "unknown day 'monday'"]),
    ("digest-channel", tail("documentation:\n  digest:\n    cron: mon 09:00\n    channel: incidents\n"), 11, "documentation.digest.channel", ["found 'incidents'", "a channel role set under channels"]),
    ("usage-channel", tail("usage:\n  channel: nowhere\n"), 9, "usage.channel", ["found 'nowhere'", "a channel role"]),
    ("usage-service-map", tail("usage:\n  services:\n    support-bot: 12\n"), 10, "usage.services.support-bot", ["found 12", "a use case ID like UC-12"]),
    ("usage-keep", tail("usage:\n  content:\n    use_cases: {UC-3: everything}\n"), 10, "usage.content.use_cases.UC-3", ["found 'everything'", "'digest', 'excerpt' or 'full'"]),
    ("usage-volume", tail("usage:\n  watch:\n    volume: {factor: 1}\n"), 10, "usage.watch.volume.factor", ["found 1", "more than 1"]),
    ("usage-rule-flag", tail("usage:\n  watch:\n    first_use: sometimes\n"), 10, "usage.watch.first_use", ["found 'sometimes'", "true or false"]),
    ("usage-unknown-rule", tail("usage:\n  watch:\n    weekend_use: true\n"), 10, "usage.watch.weekend_use", ["found unknown key 'weekend_use'"]),
    ("usage-grant-group", tail("usage:\n  allow:\n    - groups: [legl]\n"), 10, "usage.allow[0].groups[0]", ["found 'legl'", "the name of a group (eng-leads, legal; did you mean legal?)"]),
    ("usage-grant-nobody", tail("usage:\n  allow:\n    - models: [gpt-4o]\n"), 10, "usage.allow[0]", ["found a grant naming neither groups nor services", "groups, services or both"]),
    ("usage-person", tail("usage:\n  people: {alice@acme.example: alice}\n"), 9, "usage.people.alice@acme.example", ["found 'alice'", "a Slack user ID"]),
    ("duplicate-key", tail("approvals:\n  code: {approvers: [eng-leads]}\n  code: {approvers: [legal]}\n"), 10, "approvals.code", ["found the key 'code' again (first on line 9)", "each key once"]),
]


@pytest.mark.parametrize(("document", "line", "path", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_broken_playbook_reports_its_specific_mistake(issues_of, document, line, path, words):
    issues = issues_of(document)
    matching = [issue for issue in issues if issue.path == path]
    assert matching, f"no issue at {path}; got: {[str(i) for i in issues]}"
    issue = matching[0]
    assert issue.line == line, str(issue)
    assert issue.file == "playbook.yaml"
    text = str(issue)
    assert text.startswith(f"playbook.yaml:{line}: {path}: found ")
    for word in words:
        assert word in text


def test_the_table_covers_many_distinct_mistakes():
    assert len({case[0] for case in CASES}) == len(CASES) >= 20
    assert len({case[3] for case in CASES}) >= 20  # distinct paths, not one mistake twenty times


def test_brief_example_message_is_formatted_exactly(issues_of):
    text = header("  legal: {usergroup: S01LEGAL}\n", "  legal: {members: [U01CCC]}\n") + (
        "approvals:\n  launch:\n    approvers: [eng-leads, legal]\n    required: 4\n"
    )
    (issue,) = issues_of(text)
    assert str(issue) == "playbook.yaml:11: approvals.launch.required: found 4, expected at most 3 (the number of approvers in eng-leads, legal)"


def test_every_error_is_reported_not_just_the_first(issues_of):
    text = (
        "version: 3\n"  # 1
        "timezone: Mars/Olympus\n"  # 2
        "admins: [nobody]\n"  # 3
        "channels: {governance: general}\n"  # 4
        "approvals:\n"  # 5
        "  code: {approvers: [eng-leads], required: -1, remind_after: soon}\n"  # 6
    )
    issues = issues_of(text)
    assert [(i.line, i.path) for i in issues] == [
        (1, "version"),
        (2, "timezone"),
        (3, "admins[0]"),
        (4, "channels.governance"),
        (6, "approvals.code.required"),
        (6, "approvals.code.remind_after"),
    ]


def test_cross_references_all_reported_in_file_order(issues_of):
    text = HEADER + (
        "approvals:\n"  # 8
        "  code: {approvers: [nobody]}\n"  # 9
        "escalation:\n"  # 10
        "  severities: {sev1: {policy: missing}}\n"  # 11
        "  rotations: {primary: {members: [], handoff: mon 09:00, shift: 1w}}\n"  # 12
    )
    issues = issues_of(text)
    assert [(i.line, i.path) for i in issues] == [
        (9, "approvals.code.approvers[0]"),
        (11, "escalation.severities.sev1.policy"),
        (12, "escalation.rotations.primary.members"),
    ]


def test_usergroup_sizes_are_not_guessed():
    text = HEADER + "approvals:\n  launch: {approvers: [legal], required: 5}\n"
    assert load_playbook_text(text).playbook.approval_rule("launch", "external").required == 5


def test_anyone_may_cover_a_rotation_by_override():
    text = HEADER + ESCALATION + "  overrides:\n    - {rotation: primary, user: W09OUTSIDER, start: 2026-03-30 09:00, end: 2026-04-06 09:00}\n"
    assert load_playbook_text(text).playbook.escalation.overrides[0].user == "W09OUTSIDER"


@pytest.mark.parametrize(
    ("document", "line", "words"),
    [
        ("version: 1\ntimezone: [Europe/Berlin\nadmins: []\n", 3, ["invalid YAML", "expected ',' or ']'"]),
        ("version: 1\n\ttimezone: UTC\n", 2, ["invalid YAML", "'\\t'"]),
        ("version: 1\n---\nversion: 1\n", 2, ["invalid YAML", "expected a single document"]),
    ],
)
def test_yaml_syntax_errors_carry_the_yaml_line(issues_of, document, line, words):
    (issue,) = issues_of(document)
    assert issue.line == line
    assert issue.path == ""
    assert str(issue).startswith(f"playbook.yaml:{line}: found invalid YAML")
    for word in words:
        assert word in str(issue)


@pytest.mark.parametrize(
    ("document", "found"),
    [("", "an empty document"), ("# only a comment\n", "an empty document"), ("- version: 1\n", "a list of 1 item")],
)
def test_not_a_playbook_at_all(issues_of, document, found):
    issues = issues_of(document)
    assert any(issue.found == found for issue in issues), [str(i) for i in issues]

"""The authorization matrix: every action × every role, through the real bot process, each cell
judged on the audit log and the database — allowed exactly where the playbook and README say,
and every refusal audited with nothing else changed.

One row per cell: (action, role, allowed, the audit action a refusal writes). The rules each
block follows are quoted from README.md; ACTIONS (authz_actions.py) says how each action is done
in Slack and what shows it took effect. A deactivated Slack user is refused everything, audited
as `access.denied`, whatever powers the playbook still gives them.
"""

from __future__ import annotations

import pytest

from tests.reliability.authz_actions import ACTIONS
from tests.reliability.authz_world import (  # noqa: F401  (the world fixture)
    ADMIN,
    APPROVER,
    DEACTIVATED,
    DENIALS,
    OTHER_APPROVER,
    OUTSIDER,
    OWNER,
    PAGED,
    PEOPLE,
    REQUESTER,
    REVIEWER,
    ROLES,
    World,
    world,
)
from tests.reliability.workload import report

ALLOW, DENY = True, False
# How long a cell waits for the event that settles it (an effect, or the refusal): a refusal
# that is never audited costs this much, and is then reported as a violation.
SETTLE = 4.0

# The deactivated user holds every power an approver, a responder and a documentation approver
# has (see the playbook), and is refused everything, audited as access.denied.
CELLS = [
    # Sign-off (README, Human sign-off): only members of the approver groups decide; the requester
    # never approves their own request; anyone else is told why and the attempt is audited.
    ("approve", REQUESTER, DENY, "approval.denied"),
    ("approve", APPROVER, ALLOW, None),
    ("approve", OTHER_APPROVER, DENY, "approval.denied"),
    ("approve", ADMIN, DENY, "approval.denied"),
    ("approve", OUTSIDER, DENY, "approval.denied"),
    ("approve", OWNER, DENY, "approval.denied"),
    ("approve", REVIEWER, DENY, "approval.denied"),
    ("approve", PAGED, DENY, "approval.denied"),
    ("approve", DEACTIVATED, DENY, "access.denied"),
    # Any Reject rejects (with a reason); never on one's own request.
    ("reject", REQUESTER, DENY, "approval.denied"),
    ("reject", APPROVER, ALLOW, None),
    ("reject", OTHER_APPROVER, DENY, "approval.denied"),
    ("reject", ADMIN, DENY, "approval.denied"),
    ("reject", OUTSIDER, DENY, "approval.denied"),
    ("reject", OWNER, DENY, "approval.denied"),
    ("reject", REVIEWER, DENY, "approval.denied"),
    ("reject", PAGED, DENY, "approval.denied"),
    ("reject", DEACTIVATED, DENY, "access.denied"),
    # Request changes needs a reason and waits for the requester; never on one's own request.
    ("request changes", REQUESTER, DENY, "approval.denied"),
    ("request changes", APPROVER, ALLOW, None),
    ("request changes", OTHER_APPROVER, DENY, "approval.denied"),
    ("request changes", ADMIN, DENY, "approval.denied"),
    ("request changes", OUTSIDER, DENY, "approval.denied"),
    ("request changes", OWNER, DENY, "approval.denied"),
    ("request changes", REVIEWER, DENY, "approval.denied"),
    ("request changes", PAGED, DENY, "approval.denied"),
    ("request changes", DEACTIVATED, DENY, "access.denied"),
    # Cancelled by the requester, or a playbook admin (the requester is told).
    ("cancel", REQUESTER, ALLOW, None),
    ("cancel", APPROVER, DENY, "approval.denied"),
    ("cancel", OTHER_APPROVER, DENY, "approval.denied"),
    ("cancel", ADMIN, ALLOW, None),
    ("cancel", OUTSIDER, DENY, "approval.denied"),
    ("cancel", OWNER, DENY, "approval.denied"),
    ("cancel", REVIEWER, DENY, "approval.denied"),
    ("cancel", PAGED, DENY, "approval.denied"),
    ("cancel", DEACTIVATED, DENY, "access.denied"),
    # Resubmitted as a new revision by the requester, after changes were requested.
    ("resubmit", REQUESTER, ALLOW, None),
    ("resubmit", APPROVER, DENY, "approval.denied"),
    ("resubmit", OTHER_APPROVER, DENY, "approval.denied"),
    ("resubmit", ADMIN, DENY, "approval.denied"),
    ("resubmit", OUTSIDER, DENY, "approval.denied"),
    ("resubmit", OWNER, DENY, "approval.denied"),
    ("resubmit", REVIEWER, DENY, "approval.denied"),
    ("resubmit", PAGED, DENY, "approval.denied"),
    ("resubmit", DEACTIVATED, DENY, "access.denied"),
    # Checklist items are ticked by an approver with the approval that completes the sign-off.
    ("approve with checklist", REQUESTER, DENY, "approval.denied"),
    ("approve with checklist", APPROVER, ALLOW, None),
    ("approve with checklist", OTHER_APPROVER, DENY, "approval.denied"),
    ("approve with checklist", ADMIN, DENY, "approval.denied"),
    ("approve with checklist", OUTSIDER, DENY, "approval.denied"),
    ("approve with checklist", OWNER, DENY, "approval.denied"),
    ("approve with checklist", REVIEWER, DENY, "approval.denied"),
    ("approve with checklist", PAGED, DENY, "approval.denied"),
    ("approve with checklist", DEACTIVATED, DENY, "access.denied"),
    # break_glass: the requester, being one of the rule's approvers, may approve their own
    # request with a reason; for another approver the same press is a plain approval.
    ("break-glass approve", REQUESTER, ALLOW, None),
    ("break-glass approve", APPROVER, ALLOW, None),
    ("break-glass approve", OTHER_APPROVER, DENY, "approval.denied"),
    ("break-glass approve", ADMIN, DENY, "approval.denied"),
    ("break-glass approve", OUTSIDER, DENY, "approval.denied"),
    ("break-glass approve", OWNER, DENY, "approval.denied"),
    ("break-glass approve", REVIEWER, DENY, "approval.denied"),
    ("break-glass approve", PAGED, DENY, "approval.denied"),
    ("break-glass approve", DEACTIVATED, DENY, "access.denied"),
    # high_assurance: re-type the reference and give a reason; still only approvers, never the requester.
    ("high-assurance confirm", REQUESTER, DENY, "approval.denied"),
    ("high-assurance confirm", APPROVER, ALLOW, None),
    ("high-assurance confirm", OTHER_APPROVER, DENY, "approval.denied"),
    ("high-assurance confirm", ADMIN, DENY, "approval.denied"),
    ("high-assurance confirm", OUTSIDER, DENY, "approval.denied"),
    ("high-assurance confirm", OWNER, DENY, "approval.denied"),
    ("high-assurance confirm", REVIEWER, DENY, "approval.denied"),
    ("high-assurance confirm", PAGED, DENY, "approval.denied"),
    ("high-assurance confirm", DEACTIVATED, DENY, "access.denied"),
    # App Home shows "Waiting for your sign-off" with the same buttons and the same rules.
    ("approve on App Home", REQUESTER, DENY, "approval.denied"),
    ("approve on App Home", APPROVER, ALLOW, None),
    ("approve on App Home", OTHER_APPROVER, DENY, "approval.denied"),
    ("approve on App Home", ADMIN, DENY, "approval.denied"),
    ("approve on App Home", OUTSIDER, DENY, "approval.denied"),
    ("approve on App Home", OWNER, DENY, "approval.denied"),
    ("approve on App Home", REVIEWER, DENY, "approval.denied"),
    ("approve on App Home", PAGED, DENY, "approval.denied"),
    ("approve on App Home", DEACTIVATED, DENY, "access.denied"),
    # Anyone may ask for sign-off.
    ("/ai-approve <kind>", REQUESTER, ALLOW, None),
    ("/ai-approve <kind>", APPROVER, ALLOW, None),
    ("/ai-approve <kind>", OTHER_APPROVER, ALLOW, None),
    ("/ai-approve <kind>", ADMIN, ALLOW, None),
    ("/ai-approve <kind>", OUTSIDER, ALLOW, None),
    ("/ai-approve <kind>", OWNER, ALLOW, None),
    ("/ai-approve <kind>", REVIEWER, ALLOW, None),
    ("/ai-approve <kind>", PAGED, ALLOW, None),
    ("/ai-approve <kind>", DEACTIVATED, DENY, "access.denied"),
    # Escalation (README, AI incidents): acknowledging — anyone paged, or an admin.
    ("acknowledge", REQUESTER, DENY, "incident.denied"),
    ("acknowledge", APPROVER, DENY, "incident.denied"),
    ("acknowledge", OTHER_APPROVER, DENY, "incident.denied"),
    ("acknowledge", ADMIN, ALLOW, None),
    ("acknowledge", OUTSIDER, DENY, "incident.denied"),
    ("acknowledge", OWNER, DENY, "incident.denied"),
    ("acknowledge", REVIEWER, DENY, "incident.denied"),
    ("acknowledge", PAGED, ALLOW, None),
    ("acknowledge", DEACTIVATED, DENY, "access.denied"),
    # Un-acknowledge, resolve, reopen, snooze the update reminders: anyone paged, the reporter,
    # whoever acknowledged, or an admin.
    ("un-acknowledge", REQUESTER, ALLOW, None),
    ("un-acknowledge", APPROVER, DENY, "incident.denied"),
    ("un-acknowledge", OTHER_APPROVER, DENY, "incident.denied"),
    ("un-acknowledge", ADMIN, ALLOW, None),
    ("un-acknowledge", OUTSIDER, DENY, "incident.denied"),
    ("un-acknowledge", OWNER, DENY, "incident.denied"),
    ("un-acknowledge", REVIEWER, DENY, "incident.denied"),
    ("un-acknowledge", PAGED, ALLOW, None),
    ("un-acknowledge", DEACTIVATED, DENY, "access.denied"),
    ("resolve", REQUESTER, ALLOW, None),
    ("resolve", APPROVER, DENY, "incident.denied"),
    ("resolve", OTHER_APPROVER, DENY, "incident.denied"),
    ("resolve", ADMIN, ALLOW, None),
    ("resolve", OUTSIDER, DENY, "incident.denied"),
    ("resolve", OWNER, DENY, "incident.denied"),
    ("resolve", REVIEWER, DENY, "incident.denied"),
    ("resolve", PAGED, ALLOW, None),
    ("resolve", DEACTIVATED, DENY, "access.denied"),
    # Anyone may post a status update while the incident is open.
    ("post update", REQUESTER, ALLOW, None),
    ("post update", APPROVER, ALLOW, None),
    ("post update", OTHER_APPROVER, ALLOW, None),
    ("post update", ADMIN, ALLOW, None),
    ("post update", OUTSIDER, ALLOW, None),
    ("post update", OWNER, ALLOW, None),
    ("post update", REVIEWER, ALLOW, None),
    ("post update", PAGED, ALLOW, None),
    ("post update", DEACTIVATED, DENY, "access.denied"),
    ("snooze updates", REQUESTER, ALLOW, None),
    ("snooze updates", APPROVER, DENY, "incident.denied"),
    ("snooze updates", OTHER_APPROVER, DENY, "incident.denied"),
    ("snooze updates", ADMIN, ALLOW, None),
    ("snooze updates", OUTSIDER, DENY, "incident.denied"),
    ("snooze updates", OWNER, DENY, "incident.denied"),
    ("snooze updates", REVIEWER, DENY, "incident.denied"),
    ("snooze updates", PAGED, ALLOW, None),
    ("snooze updates", DEACTIVATED, DENY, "access.denied"),
    # Anyone may read the timeline.
    ("timeline", REQUESTER, ALLOW, None),
    ("timeline", APPROVER, ALLOW, None),
    ("timeline", OTHER_APPROVER, ALLOW, None),
    ("timeline", ADMIN, ALLOW, None),
    ("timeline", OUTSIDER, ALLOW, None),
    ("timeline", OWNER, ALLOW, None),
    ("timeline", REVIEWER, ALLOW, None),
    ("timeline", PAGED, ALLOW, None),
    ("timeline", DEACTIVATED, DENY, "access.denied"),
    ("reopen", REQUESTER, ALLOW, None),
    ("reopen", APPROVER, DENY, "incident.denied"),
    ("reopen", OTHER_APPROVER, DENY, "incident.denied"),
    ("reopen", ADMIN, ALLOW, None),
    ("reopen", OUTSIDER, DENY, "incident.denied"),
    ("reopen", OWNER, DENY, "incident.denied"),
    ("reopen", REVIEWER, DENY, "incident.denied"),
    ("reopen", PAGED, ALLOW, None),
    ("reopen", DEACTIVATED, DENY, "access.denied"),
    # Anyone may report an incident.
    ("/ai-incident <severity>", REQUESTER, ALLOW, None),
    ("/ai-incident <severity>", APPROVER, ALLOW, None),
    ("/ai-incident <severity>", OTHER_APPROVER, ALLOW, None),
    ("/ai-incident <severity>", ADMIN, ALLOW, None),
    ("/ai-incident <severity>", OUTSIDER, ALLOW, None),
    ("/ai-incident <severity>", OWNER, ALLOW, None),
    ("/ai-incident <severity>", REVIEWER, ALLOW, None),
    ("/ai-incident <severity>", PAGED, ALLOW, None),
    ("/ai-incident <severity>", DEACTIVATED, DENY, "access.denied"),
    # Documentation (README, Living documentation): a use case is marked reviewed by its owner,
    # an admin or a documentation approver; contributors help keep it, but the review is the owner's.
    ("still accurate (use case)", REQUESTER, DENY, "usecase.denied"),
    ("still accurate (use case)", APPROVER, ALLOW, None),
    ("still accurate (use case)", OTHER_APPROVER, DENY, "usecase.denied"),
    ("still accurate (use case)", ADMIN, ALLOW, None),
    ("still accurate (use case)", OUTSIDER, DENY, "usecase.denied"),
    ("still accurate (use case)", OWNER, ALLOW, None),
    ("still accurate (use case)", REVIEWER, DENY, "usecase.denied"),
    ("still accurate (use case)", PAGED, DENY, "usecase.denied"),
    ("still accurate (use case)", DEACTIVATED, DENY, "access.denied"),
    # Edited (and retired) by the people who keep it — owner and contributors — an admin or a
    # documentation approver.
    ("update (use case nudge)", REQUESTER, DENY, "usecase.denied"),
    ("update (use case nudge)", APPROVER, ALLOW, None),
    ("update (use case nudge)", OTHER_APPROVER, DENY, "usecase.denied"),
    ("update (use case nudge)", ADMIN, ALLOW, None),
    ("update (use case nudge)", OUTSIDER, DENY, "usecase.denied"),
    ("update (use case nudge)", OWNER, ALLOW, None),
    ("update (use case nudge)", REVIEWER, DENY, "usecase.denied"),
    ("update (use case nudge)", PAGED, DENY, "usecase.denied"),
    ("update (use case nudge)", DEACTIVATED, DENY, "access.denied"),
    # Snooze is for the people who keep the record: a use case's owner and contributors,
    # a vendor's assignee and reviewer.
    ("snooze (use case)", REQUESTER, DENY, "usecase.denied"),
    ("snooze (use case)", APPROVER, DENY, "usecase.denied"),
    ("snooze (use case)", OTHER_APPROVER, DENY, "usecase.denied"),
    ("snooze (use case)", ADMIN, DENY, "usecase.denied"),
    ("snooze (use case)", OUTSIDER, DENY, "usecase.denied"),
    ("snooze (use case)", OWNER, ALLOW, None),
    ("snooze (use case)", REVIEWER, DENY, "usecase.denied"),
    ("snooze (use case)", PAGED, DENY, "usecase.denied"),
    ("snooze (use case)", DEACTIVATED, DENY, "access.denied"),
    ("snooze (vendor)", REQUESTER, DENY, "vendor.denied"),
    ("snooze (vendor)", APPROVER, DENY, "vendor.denied"),
    ("snooze (vendor)", OTHER_APPROVER, DENY, "vendor.denied"),
    ("snooze (vendor)", ADMIN, DENY, "vendor.denied"),
    ("snooze (vendor)", OUTSIDER, DENY, "vendor.denied"),
    ("snooze (vendor)", OWNER, ALLOW, None),
    ("snooze (vendor)", REVIEWER, ALLOW, None),
    ("snooze (vendor)", PAGED, DENY, "vendor.denied"),
    ("snooze (vendor)", DEACTIVATED, DENY, "access.denied"),
    # A vendor's review is signed off by its reviewer, an admin or a documentation approver, never
    # its assignee (separation of duties); its assignee and reviewer keep (edit) the record.
    ("still accurate (vendor)", REQUESTER, DENY, "vendor.denied"),
    ("still accurate (vendor)", APPROVER, ALLOW, None),
    ("still accurate (vendor)", OTHER_APPROVER, DENY, "vendor.denied"),
    ("still accurate (vendor)", ADMIN, ALLOW, None),
    ("still accurate (vendor)", OUTSIDER, DENY, "vendor.denied"),
    ("still accurate (vendor)", OWNER, DENY, "vendor.denied"),
    ("still accurate (vendor)", REVIEWER, ALLOW, None),
    ("still accurate (vendor)", PAGED, DENY, "vendor.denied"),
    ("still accurate (vendor)", DEACTIVATED, DENY, "access.denied"),
    ("/ai-usecase edit", REQUESTER, DENY, "usecase.denied"),
    ("/ai-usecase edit", APPROVER, ALLOW, None),
    ("/ai-usecase edit", OTHER_APPROVER, DENY, "usecase.denied"),
    ("/ai-usecase edit", ADMIN, ALLOW, None),
    ("/ai-usecase edit", OUTSIDER, DENY, "usecase.denied"),
    ("/ai-usecase edit", OWNER, ALLOW, None),
    ("/ai-usecase edit", REVIEWER, DENY, "usecase.denied"),
    ("/ai-usecase edit", PAGED, DENY, "usecase.denied"),
    ("/ai-usecase edit", DEACTIVATED, DENY, "access.denied"),
    ("/ai-vendor edit", REQUESTER, DENY, "vendor.denied"),
    ("/ai-vendor edit", APPROVER, ALLOW, None),
    ("/ai-vendor edit", OTHER_APPROVER, DENY, "vendor.denied"),
    ("/ai-vendor edit", ADMIN, ALLOW, None),
    ("/ai-vendor edit", OUTSIDER, DENY, "vendor.denied"),
    ("/ai-vendor edit", OWNER, ALLOW, None),
    ("/ai-vendor edit", REVIEWER, ALLOW, None),
    ("/ai-vendor edit", PAGED, DENY, "vendor.denied"),
    ("/ai-vendor edit", DEACTIVATED, DENY, "access.denied"),
    ("/ai-usecase reviewed", REQUESTER, DENY, "usecase.denied"),
    ("/ai-usecase reviewed", APPROVER, ALLOW, None),
    ("/ai-usecase reviewed", OTHER_APPROVER, DENY, "usecase.denied"),
    ("/ai-usecase reviewed", ADMIN, ALLOW, None),
    ("/ai-usecase reviewed", OUTSIDER, DENY, "usecase.denied"),
    ("/ai-usecase reviewed", OWNER, ALLOW, None),
    ("/ai-usecase reviewed", REVIEWER, DENY, "usecase.denied"),
    ("/ai-usecase reviewed", PAGED, DENY, "usecase.denied"),
    ("/ai-usecase reviewed", DEACTIVATED, DENY, "access.denied"),
    ("review on App Home", REQUESTER, DENY, "usecase.denied"),
    ("review on App Home", APPROVER, ALLOW, None),
    ("review on App Home", OTHER_APPROVER, DENY, "usecase.denied"),
    ("review on App Home", ADMIN, ALLOW, None),
    ("review on App Home", OUTSIDER, DENY, "usecase.denied"),
    ("review on App Home", OWNER, ALLOW, None),
    ("review on App Home", REVIEWER, DENY, "usecase.denied"),
    ("review on App Home", PAGED, DENY, "usecase.denied"),
    ("review on App Home", DEACTIVATED, DENY, "access.denied"),
    ("/ai-usecase retire", REQUESTER, DENY, "usecase.denied"),
    ("/ai-usecase retire", APPROVER, ALLOW, None),
    ("/ai-usecase retire", OTHER_APPROVER, DENY, "usecase.denied"),
    ("/ai-usecase retire", ADMIN, ALLOW, None),
    ("/ai-usecase retire", OUTSIDER, DENY, "usecase.denied"),
    ("/ai-usecase retire", OWNER, ALLOW, None),
    ("/ai-usecase retire", REVIEWER, DENY, "usecase.denied"),
    ("/ai-usecase retire", PAGED, DENY, "usecase.denied"),
    ("/ai-usecase retire", DEACTIVATED, DENY, "access.denied"),
    # Only the admins and documentation approvers — never its owner — approve or reject a use case.
    ("approve use case", REQUESTER, DENY, "usecase.denied"),
    ("approve use case", APPROVER, ALLOW, None),
    ("approve use case", OTHER_APPROVER, DENY, "usecase.denied"),
    ("approve use case", ADMIN, ALLOW, None),
    ("approve use case", OUTSIDER, DENY, "usecase.denied"),
    ("approve use case", OWNER, DENY, "usecase.denied"),
    ("approve use case", REVIEWER, DENY, "usecase.denied"),
    ("approve use case", PAGED, DENY, "usecase.denied"),
    ("approve use case", DEACTIVATED, DENY, "access.denied"),
    ("reject use case", REQUESTER, DENY, "usecase.denied"),
    ("reject use case", APPROVER, ALLOW, None),
    ("reject use case", OTHER_APPROVER, DENY, "usecase.denied"),
    ("reject use case", ADMIN, ALLOW, None),
    ("reject use case", OUTSIDER, DENY, "usecase.denied"),
    ("reject use case", OWNER, DENY, "usecase.denied"),
    ("reject use case", REVIEWER, DENY, "usecase.denied"),
    ("reject use case", PAGED, DENY, "usecase.denied"),
    ("reject use case", DEACTIVATED, DENY, "access.denied"),
    ("vendor review sign-off", REQUESTER, DENY, "vendor.denied"),
    ("vendor review sign-off", APPROVER, ALLOW, None),
    ("vendor review sign-off", OTHER_APPROVER, DENY, "vendor.denied"),
    ("vendor review sign-off", ADMIN, ALLOW, None),
    ("vendor review sign-off", OUTSIDER, DENY, "vendor.denied"),
    ("vendor review sign-off", OWNER, DENY, "vendor.denied"),
    ("vendor review sign-off", REVIEWER, ALLOW, None),
    ("vendor review sign-off", PAGED, DENY, "vendor.denied"),
    ("vendor review sign-off", DEACTIVATED, DENY, "access.denied"),
    # Anyone may document a use case or a vendor, and turn their personal digest on.
    ("/ai-usecase new", REQUESTER, ALLOW, None),
    ("/ai-usecase new", APPROVER, ALLOW, None),
    ("/ai-usecase new", OTHER_APPROVER, ALLOW, None),
    ("/ai-usecase new", ADMIN, ALLOW, None),
    ("/ai-usecase new", OUTSIDER, ALLOW, None),
    ("/ai-usecase new", OWNER, ALLOW, None),
    ("/ai-usecase new", REVIEWER, ALLOW, None),
    ("/ai-usecase new", PAGED, ALLOW, None),
    ("/ai-usecase new", DEACTIVATED, DENY, "access.denied"),
    ("/ai-vendor new", REQUESTER, ALLOW, None),
    ("/ai-vendor new", APPROVER, ALLOW, None),
    ("/ai-vendor new", OTHER_APPROVER, ALLOW, None),
    ("/ai-vendor new", ADMIN, ALLOW, None),
    ("/ai-vendor new", OUTSIDER, ALLOW, None),
    ("/ai-vendor new", OWNER, ALLOW, None),
    ("/ai-vendor new", REVIEWER, ALLOW, None),
    ("/ai-vendor new", PAGED, ALLOW, None),
    ("/ai-vendor new", DEACTIVATED, DENY, "access.denied"),
    ("/ai-usecase digest on", REQUESTER, ALLOW, None),
    ("/ai-usecase digest on", APPROVER, ALLOW, None),
    ("/ai-usecase digest on", OTHER_APPROVER, ALLOW, None),
    ("/ai-usecase digest on", ADMIN, ALLOW, None),
    ("/ai-usecase digest on", OUTSIDER, ALLOW, None),
    ("/ai-usecase digest on", OWNER, ALLOW, None),
    ("/ai-usecase digest on", REVIEWER, ALLOW, None),
    ("/ai-usecase digest on", PAGED, ALLOW, None),
    ("/ai-usecase digest on", DEACTIVATED, DENY, "access.denied"),
    # /ai-playbook reload: admins only; anyone else is refused and the attempt is audited.
    ("/ai-playbook reload", REQUESTER, DENY, "playbook.denied"),
    ("/ai-playbook reload", APPROVER, DENY, "playbook.denied"),
    ("/ai-playbook reload", OTHER_APPROVER, DENY, "playbook.denied"),
    ("/ai-playbook reload", ADMIN, ALLOW, None),
    ("/ai-playbook reload", OUTSIDER, DENY, "playbook.denied"),
    ("/ai-playbook reload", OWNER, DENY, "playbook.denied"),
    ("/ai-playbook reload", REVIEWER, DENY, "playbook.denied"),
    ("/ai-playbook reload", PAGED, DENY, "playbook.denied"),
    ("/ai-playbook reload", DEACTIVATED, DENY, "access.denied"),
    # /ai-oncall override: an admin, or the member being covered (the paged person is on call).
    ("/ai-oncall override", REQUESTER, DENY, "oncall.override_denied"),
    ("/ai-oncall override", APPROVER, DENY, "oncall.override_denied"),
    ("/ai-oncall override", OTHER_APPROVER, DENY, "oncall.override_denied"),
    ("/ai-oncall override", ADMIN, ALLOW, None),
    ("/ai-oncall override", OUTSIDER, DENY, "oncall.override_denied"),
    ("/ai-oncall override", OWNER, DENY, "oncall.override_denied"),
    ("/ai-oncall override", REVIEWER, DENY, "oncall.override_denied"),
    ("/ai-oncall override", PAGED, ALLOW, None),
    ("/ai-oncall override", DEACTIVATED, DENY, "access.denied"),
    # App Home's pagers only read.
    ("page App Home", REQUESTER, ALLOW, None),
    ("page App Home", APPROVER, ALLOW, None),
    ("page App Home", OTHER_APPROVER, ALLOW, None),
    ("page App Home", ADMIN, ALLOW, None),
    ("page App Home", OUTSIDER, ALLOW, None),
    ("page App Home", OWNER, ALLOW, None),
    ("page App Home", REVIEWER, ALLOW, None),
    ("page App Home", PAGED, ALLOW, None),
    ("page App Home", DEACTIVATED, DENY, "access.denied"),
]


def _id(value: object) -> str:
    if isinstance(value, bool):
        return "allowed" if value else "denied"
    return "" if value is None else str(value)


class Tally:
    def __init__(self) -> None:
        self.cells = 0
        self.violations: list[str] = []

    def record(self, cell: str, problems: list[str]) -> None:
        self.cells += 1
        if problems:
            self.violations.append(f"{cell}: {'; '.join(problems)}")


@pytest.fixture(scope="module")
def tally(request, tmp_path_factory):  # noqa: ANN001
    found = Tally()
    yield found
    if not found.cells:
        return
    figures = {"authorization_cells": found.cells, "violations": len(found.violations)}
    report(tmp_path_factory.mktemp("authz-figures"), "authorization_matrix", figures)
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # on the terminal, not in a captured section
            terminal.write_line(f"\nauthorization cells / violations: {found.cells} / {len(found.violations)}")
            for line in found.violations:
                terminal.write_line(f"  violation: {line}")


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, int]:
    """Tables whose rows differ, with how many rows were added, removed or rewritten."""
    return {name: len(set(before[name]) ^ set(after[name])) for name in before if before[name] != after[name]}


def judge(world: World, action_name: str, role: str, allowed: bool, denial: str | None) -> list[str]:
    action = ACTIONS[action_name]
    user = PEOPLE[role]
    target = action.seed(world)
    if not allowed:
        world.quiet()
    before = None if allowed else world.snapshot()
    mark = world.audit_mark()
    sent = action.perform(world, target, user)

    def settled(mine: list) -> bool:
        if any(e.action in DENIALS for e in mine):
            return True
        return allowed and action.effect(world, target, user, mine, sent)

    mine = world.wait_events(mark, user, settled, timeout=SETTLE)
    refusals = [e.action for e in mine if e.action in DENIALS]
    problems = []
    if allowed:
        if refusals:
            problems.append(f"refused ({', '.join(refusals)})")
        elif not action.effect(world, target, user, mine, sent):
            problems.append("allowed, but it did not take effect")
        return problems
    if refusals != [denial]:
        problems.append(f"expected one {denial}, audited {refusals or 'nothing'}")
    done = [e.action for e in mine if e.action not in DENIALS]
    if done:
        problems.append(f"refusal also did {done}")
    changed = changed_tables(before, world.snapshot())
    if changed:
        problems.append(f"refusal changed rows of {changed}")
    return problems


def test_the_table_has_one_cell_for_every_action_and_role():
    cells = [(action, role) for action, role, *_ in CELLS]
    assert len(cells) == len(set(cells)), "a cell is listed twice"
    assert set(cells) == {(action, role) for action in ACTIONS for role in ROLES}
    for action, role, allowed, denial in CELLS:
        assert (denial is None) == allowed, f"{action} × {role}: a refusal names its audit action"
        assert denial is None or denial in DENIALS


@pytest.mark.e2e
@pytest.mark.parametrize(("action", "role", "allowed", "denial"), CELLS, ids=_id)
def test_authorization_cell(world, tally, action, role, allowed, denial):  # noqa: F811
    try:
        problems = judge(world, action, role, allowed, denial)
    except Exception as exc:  # a cell that could not be run is a violation in the figure too
        tally.record(f"{action} × {role}", [f"could not run: {exc!r}"[:500]])
        raise
    tally.record(f"{action} × {role}", problems)
    assert not problems, f"{action} × {role} ({'allowed' if allowed else 'denied'}): {'; '.join(problems)}"

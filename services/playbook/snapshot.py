"""Policy snapshots: the rules an approval request or an incident was opened under.

A request stores `approval_policy(...).model_dump(mode="json")` and an incident stores
`escalation_chain(...)`'s, so editing the playbook later never changes the rules of an open case.
An approval snapshot freezes the approver groups' definitions too (static members, or the Slack
user group ID to resolve). An escalation snapshot freezes the steps, waits and repeats; whom a
rotation or group target reaches is decided when the step fires (the person on call *then*).
Snapshots read leniently (unknown keys ignored) so rows written by an older release still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from .durations import Duration
from .schema import (
    Audience,
    ChannelId,
    ChecklistItem,
    Playbook,
    SelfApproval,
    Step,
    Target,
    UserId,
    UsergroupId,
)


class UnknownName(LookupError):
    """An approval kind or severity the playbook does not define; `known` lists those it does."""

    def __init__(self, what: str, name: str, known: list[str]):
        self.what, self.name, self.known = what, name, known
        super().__init__(f"no {what} '{name}' in the playbook (known: {', '.join(known) or 'none'})")

    def __str__(self) -> str:
        return self.args[0]


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ApproverGroup(Snapshot):
    name: str
    members: tuple[UserId, ...] = ()
    usergroup: UsergroupId | None = None


class ApprovalPolicy(Snapshot):
    kind: str
    audience: Audience
    approvers: tuple[ApproverGroup, ...]
    required: int
    distinct_groups: bool = False
    self_approval: SelfApproval = "never"
    checklist: tuple[ChecklistItem, ...] = ()
    remind_after: Duration | None = None
    expire_after: Duration | None = None
    high_assurance: bool = False
    channel: ChannelId
    require_documented_use_case: bool = False

    @property
    def approver_group_names(self) -> tuple[str, ...]:
        return tuple(group.name for group in self.approvers)


class EscalationChain(Snapshot):
    severity: str
    description: str | None = None
    policy: str
    incident_channel: bool = False
    update_every: Duration | None = None
    steps: tuple[Step, ...]
    repeat: int = 0
    announce_channel: ChannelId  # where the incident is announced: incidents, else governance
    governance_channel: ChannelId


def approval_policy(pb: Playbook, kind: str, audience: Audience) -> ApprovalPolicy:
    if kind not in pb.approvals:
        raise UnknownName("approval kind", kind, list(pb.approvals))
    rule = pb.approval_rule(kind, audience)
    return ApprovalPolicy(
        kind=kind,
        audience=audience,
        approvers=tuple(
            ApproverGroup(name=name, members=pb.groups[name].members or (), usergroup=pb.groups[name].usergroup)
            for name in dict.fromkeys(rule.approvers)
        ),
        required=rule.required,
        distinct_groups=rule.distinct_groups,
        self_approval=rule.self_approval,
        checklist=tuple(ChecklistItem(id=item.id, text=item.label) for item in rule.checklist),
        remind_after=rule.remind_after,
        expire_after=rule.expire_after,
        high_assurance=rule.high_assurance,
        channel=pb.approval_channel(rule),
        require_documented_use_case=rule.require_documented_use_case,
    )


def escalation_chain(pb: Playbook, severity: str) -> EscalationChain:
    if severity not in pb.escalation.severities:
        raise UnknownName("severity", severity, list(pb.escalation.severities))
    spec = pb.escalation.severities[severity]
    policy = pb.escalation.policies[spec.policy]
    return EscalationChain(
        severity=severity,
        description=spec.description,
        policy=spec.policy,
        incident_channel=spec.incident_channel,
        update_every=spec.update_every,
        steps=policy.steps,
        repeat=policy.repeat,
        announce_channel=pb.channels.incidents or pb.channels.governance,
        governance_channel=pb.channels.governance,
    )


@dataclass(frozen=True)
class PlannedPage:
    round: int  # 1-based; round 2 is the first repeat
    step: int  # 1-based within the policy
    at: datetime  # aware, UTC
    target: Target
    wait: timedelta | None


def planned_pages(chain: EscalationChain, start: datetime) -> list[PlannedPage]:
    """When each step fires if nobody acknowledges, starting at `start` (aware).

    Waits are elapsed time, added in UTC: a 5-minute wait is 5 minutes even across a DST change.
    """
    if start.tzinfo is None:
        raise ValueError("planned_pages needs an aware start")
    at = start.astimezone(UTC)
    pages = []
    for round_number in range(1, chain.repeat + 2):
        for number, step in enumerate(chain.steps, start=1):
            pages.append(PlannedPage(round_number, number, at, step.notify, step.wait))
            if step.wait is None:
                return pages
            at += step.wait
    return pages


def chain_end(chain: EscalationChain, start: datetime) -> datetime | None:
    """When the last wait of the last round runs out; None if the chain ends waiting forever."""
    pages = planned_pages(chain, start)
    last = pages[-1]
    return last.at + last.wait if last.wait is not None else None

"""Reading a request's frozen policy: who its approvers are, and which groups a user is in.

`group_members` maps an approver group's name to its members as the caller resolved them
(Slack user groups through usergroups.users.list); a group missing from it falls back to
the static members frozen in the snapshot (a user group nobody resolved has none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from models.approval import ApprovalRequest
from services.playbook.snapshot import ApprovalPolicy

GroupMembers = Mapping[str, Sequence[str]]


def policy_of(request: ApprovalRequest) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate(request.policy)


def members_by_group(policy: ApprovalPolicy, group_members: GroupMembers | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in policy.approvers:
        if group_members is not None and group.name in group_members:
            out[group.name] = list(dict.fromkeys(group_members[group.name]))
        else:
            out[group.name] = list(group.members)
    return out


def approver_users(policy: ApprovalPolicy, group_members: GroupMembers | None) -> list[str]:
    """Everyone who may decide, in policy order, each once."""
    users: dict[str, None] = {}
    for members in members_by_group(policy, group_members).values():
        users.update(dict.fromkeys(members))
    return list(users)


def groups_of(policy: ApprovalPolicy, group_members: GroupMembers | None, user: str) -> list[str]:
    """The approver groups `user` belongs to, in policy order."""
    return [name for name, members in members_by_group(policy, group_members).items() if user in members]


def usergroups(policy: ApprovalPolicy) -> list[str]:
    """Slack user group IDs among the approver groups (for mentioning them)."""
    return [group.usergroup for group in policy.approvers if group.usergroup]

"""The playbook in plain words: who signs off, who gets paged and when, and a one-screen summary.

Pure functions returning plain text — no Slack markup — shared by `countersign playbook explain`,
`playbook check` and Slack's `/ai-playbook`. `group_members` maps a group name to its current
members (as resolved from Slack); a group absent from it falls back to its static members, and a
Slack user group nobody resolved is shown as "members of usergroup S…".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from .durations import describe_duration, format_duration
from .oncall import who_is_on_call
from .schema import Audience, AudienceRules, ChannelTarget, GroupTarget, Playbook, RotationTarget, Target, UserTarget
from .snapshot import (
    ApprovalPolicy,
    EscalationChain,
    UnknownName,
    approval_policy,
    chain_end,
    escalation_chain,
    planned_pages,
)

__all__ = [
    "ApprovalPolicy",
    "EscalationChain",
    "UnknownName",
    "approval_policy",
    "escalation_chain",
    "explain_approval",
    "explain_escalation",
    "members_text",
    "summary",
]

GroupMembers = Mapping[str, Sequence[str]]

SELF_APPROVAL_TEXT = {
    "never": "never — the requester's own approval does not count",
    "break_glass": "break glass — the requester may approve their own request in an emergency; it counts, and is flagged in the audit log and the digest",
}


def members_text(pb: Playbook, group: str, group_members: GroupMembers | None = None) -> str:
    if group_members is not None and group in group_members:
        return ", ".join(group_members[group]) or "nobody (the user group is empty)"
    spec = pb.groups[group]
    if spec.members is not None:
        return ", ".join(spec.members)
    return f"members of usergroup {spec.usergroup}"


def explain_approval(pb: Playbook, kind: str, audience: Audience | None = None, group_members: GroupMembers | None = None) -> str:
    """Who may approve `kind` for `audience` now, how many, checklist, timing, self-approval.

    With `audience` None, a kind split by audience is explained for both audiences.
    """
    if kind not in pb.approvals:
        raise UnknownName("approval kind", kind, list(pb.approvals))
    split = isinstance(pb.approvals[kind], AudienceRules)
    audiences: list[Audience] = [audience] if audience else (["internal", "external"] if split else ["internal"])
    parts = [_approval_text(pb, approval_policy(pb, kind, a), split, group_members) for a in audiences]
    return "\n\n".join(parts)


def _approval_text(pb: Playbook, policy: ApprovalPolicy, split: bool, group_members: GroupMembers | None) -> str:
    scope = f"{policy.audience} audience" if split else "any audience"
    names = ", ".join(policy.approver_group_names)
    many = "approval" if policy.required == 1 else "approvals"
    lines = [f"Sign-off for {policy.kind} ({scope})"]
    if policy.distinct_groups:
        lines.append(f"Needs {policy.required} {many}, each from a different group of: {names}.")
    else:
        lines.append(f"Needs {policy.required} {many} from members of: {names}.")
    lines.append("Who may approve now:")
    lines += [f"  {group.name}: {members_text(pb, group.name, group_members)}" for group in policy.approvers]
    lines.append(f"Self-approval: {SELF_APPROVAL_TEXT[policy.self_approval]}.")
    if policy.checklist:
        lines.append("Checklist (every approver confirms each item):")
        lines += [f"  - {item.id}: {item.text}" for item in policy.checklist]
    else:
        lines.append("Checklist: none.")
    remind = f"after {describe_duration(policy.remind_after)} if still open" if policy.remind_after else "none"
    expire = f"after {describe_duration(policy.expire_after)}" if policy.expire_after else "never"
    lines.append(f"Reminder: {remind}. Expiry: {expire}.")
    if policy.high_assurance:
        lines.append("High assurance: yes — each checklist item is confirmed one by one; break-glass self-approval is refused.")
    if policy.require_documented_use_case:
        lines.append("The request must name a documented AI use case.")
    lines.append(f"Requests are posted in {_channel_text(pb, policy.channel)}.")
    return "\n".join(lines)


def explain_escalation(pb: Playbook, severity: str, now: datetime, group_members: GroupMembers | None = None) -> str:
    """The chain for `severity` started at `now`: each page's time and who it reaches then."""
    chain = escalation_chain(pb, severity)
    tz = pb.tz
    start = now.astimezone(UTC)
    lines = [f"Escalation for {severity}" + (f": {chain.description}" if chain.description else "")]
    channel = "yes, a dedicated channel is opened" if chain.incident_channel else "no"
    updates = f"every {describe_duration(chain.update_every)}" if chain.update_every else "none scheduled"
    lines.append(f"Policy: {chain.policy}. Incident channel: {channel}. Status updates: {updates}.")
    lines.append(f"Announced in {_channel_text(pb, chain.announce_channel)}.")
    lines.append(f"If opened at {_local(start, tz)} ({pb.timezone}), pages until someone acknowledges:")
    rounds = chain.repeat + 1
    for page in planned_pages(chain, start):
        if page.step == 1 and rounds > 1:
            lines.append(f"  round {page.round} of {rounds}")
        offset = "+" + (format_duration(page.at - start) if page.at > start else "0m")
        who = _who(pb, page.target, page.at, group_members)
        lines.append(f"    {offset:<8} {_local(page.at, tz)}  {page.target} → {who}")
    end = chain_end(chain, start)
    if end is None:
        lines.append("After the last step it waits for an acknowledgement; there is no further step.")
    else:
        lines.append(f"Unacknowledged at {_local(end, tz)} (+{format_duration(end - start)}), the chain is exhausted.")
    return "\n".join(lines)


def _who(pb: Playbook, target: Target, at: datetime, group_members: GroupMembers | None) -> str:
    if isinstance(target, RotationTarget):
        if target.name not in pb.escalation.rotations:
            return "nobody (no such rotation)"
        return who_is_on_call(pb, target.name, at) or "nobody (the rotation has no members)"
    if isinstance(target, GroupTarget):
        return members_text(pb, target.name, group_members) if target.name in pb.groups else "nobody (no such group)"
    if isinstance(target, UserTarget):
        return target.user
    assert isinstance(target, ChannelTarget)
    return f"the {target.role} channel {pb.channels.resolve(target.role)}"


def _channel_text(pb: Playbook, channel_id: str) -> str:
    roles = [role for role in ("approvals", "governance", "digest", "incidents") if getattr(pb.channels, role) == channel_id]
    return f"{channel_id} ({', '.join(roles)})" if roles else channel_id


def _local(moment: datetime, tz) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z")


def summary(pb: Playbook, now: datetime | None = None, group_members: GroupMembers | None = None) -> str:
    """One screen: sign-off rules, uses, escalation, rotations (with who is on call at `now`), cadences."""
    title = f"Playbook v{pb.version}" + (f" — {pb.organization}" if pb.organization else "") + f" ({pb.timezone})"
    lines = [title, f"Admins: {', '.join(pb.admins)}"]
    channels = [f"{role} {getattr(pb.channels, role)}" for role in ("governance", "approvals", "digest", "incidents") if getattr(pb.channels, role)]
    lines.append("Channels: " + " · ".join(channels))
    if pb.groups:
        lines.append("Groups: " + ", ".join(_group_size(pb, name, group_members) for name in pb.groups))
    lines.append("Sign-off:" if pb.approvals else "Sign-off: no kinds defined")
    for kind, rules in pb.approvals.items():
        audiences: list[Audience | None] = ["internal", "external"] if isinstance(rules, AudienceRules) else [None]
        for audience in audiences:
            policy = approval_policy(pb, kind, audience or "internal")
            label = f"{kind}/{audience}" if audience else kind
            lines.append(f"  {label}: {_rule_line(policy)}")
    if pb.allowed_uses:
        lines.append("Allowed uses:")
        lines += [f"  - {use.text}" for use in pb.allowed_uses]
    if pb.off_limits:
        lines.append("Off limits:")
        lines += [f"  - {use.text}" for use in pb.off_limits]
    escalation = pb.escalation
    lines.append("Escalation:" if escalation.severities else "Escalation: no severities defined")
    for name, severity in escalation.severities.items():
        policy = escalation.policies[severity.policy]
        extras = [f"{len(policy.steps)} step{'s' if len(policy.steps) != 1 else ''}"]
        if policy.repeat:
            extras.append(f"repeats {policy.repeat}×")
        if severity.incident_channel:
            extras.append("incident channel")
        if severity.update_every:
            extras.append(f"updates every {format_duration(severity.update_every)}")
        lines.append(f"  {name} → {severity.policy}: {', '.join(extras)}")
    for name, rotation in escalation.rotations.items():
        line = f"  rotation {name}: {len(rotation.members)} people, {format_duration(rotation.shift)} shifts from {rotation.handoff}"
        if now is not None:
            line += f"; on call now: {who_is_on_call(pb, name, now) or 'nobody'}"
        lines.append(line)
    doc = pb.documentation
    lines.append(
        f"Documentation: use cases every {_cadence(doc.usecase_revisit, doc.usecase_revisit_by_risk)}, "
        f"vendors every {_cadence(doc.vendor_revisit, doc.vendor_revisit_by_risk)}; "
        f"raised to governance {format_duration(doc.stale_grace)} after a missed revisit"
    )
    if doc.digest is not None:
        lines.append(f"Digest: {doc.digest.cron} in {pb.digest_channel()}")
    return "\n".join(lines)


def _group_size(pb: Playbook, name: str, group_members: GroupMembers | None) -> str:
    if group_members is not None and name in group_members:
        return f"{name} ({len(group_members[name])})"
    spec = pb.groups[name]
    return f"{name} ({len(spec.members)})" if spec.members is not None else f"{name} (usergroup {spec.usergroup})"


def _rule_line(policy: ApprovalPolicy) -> str:
    names = ", ".join(policy.approver_group_names)
    parts = [f"{policy.required} of {names}" + (" (distinct groups)" if policy.distinct_groups else "")]
    if policy.self_approval == "break_glass":
        parts.append("break-glass self-approval")
    if policy.checklist:
        parts.append("checklist: " + ", ".join(item.id for item in policy.checklist))
    if policy.remind_after:
        parts.append(f"remind {format_duration(policy.remind_after)}")
    if policy.expire_after:
        parts.append(f"expire {format_duration(policy.expire_after)}")
    if policy.high_assurance:
        parts.append("high assurance")
    if policy.require_documented_use_case:
        parts.append("documented use case required")
    return " · ".join(parts)


def _cadence(general: timedelta, by_risk) -> str:
    text = format_duration(general)
    if by_risk is None:
        return text
    tiers = [f"{tier} {format_duration(value)}" for tier in ("prohibited", "high", "limited", "minimal") if (value := getattr(by_risk, tier))]
    return f"{text} ({', '.join(tiers)})" if tiers else text

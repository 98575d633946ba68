"""The playbook as a readable Markdown policy, for colleagues (internal) or customers (external).

Both audiences get allowed and off-limits uses, sign-off rules, the escalation protocol and review
cadences. The internal document shows every rule with Slack user, user group and channel IDs, so
colleagues know whom to ask; the external one shows only the rules for customer-facing work and
names groups, rotations and roles, never IDs.
"""

from __future__ import annotations

from .durations import describe_duration
from .schema import (
    ApprovalRule,
    Audience,
    AudienceRules,
    ChannelTarget,
    GroupTarget,
    Playbook,
    RotationTarget,
    Target,
    UserTarget,
)
from .snapshot import EscalationChain, escalation_chain

_SELF_APPROVAL = {
    "never": "The person asking for sign-off can never approve their own request.",
    "break_glass": "In an emergency the requester may approve their own request (break glass); this is flagged and reviewed.",
}


def render_markdown(pb: Playbook, audience: Audience) -> str:
    if audience not in ("internal", "external"):
        raise ValueError("audience must be 'internal' or 'external'")
    internal = audience == "internal"
    who = pb.organization or "our team"
    out = [f"# How {who} uses AI", ""]
    out.append(
        "This policy is generated from our governance playbook "
        f"(format version {pb.version}), the file our tooling enforces. "
        + ("It is the internal edition, with every rule and the people behind it." if internal else "It describes how AI is used in what we build for you.")
    )
    if pb.contact:
        out += ["", f"Questions: {pb.contact}"]
    out += _uses("Allowed uses", "What we use AI for.", pb.allowed_uses)
    out += _uses("Off-limits uses", "What we never use AI for, whatever the sign-off.", pb.off_limits)
    out += _sign_off(pb, internal)
    out += _escalation(pb, internal)
    out += _cadences(pb, internal)
    return "\n".join(out).rstrip() + "\n"


def _uses(title: str, lead: str, statements) -> list[str]:
    if not statements:
        return []
    return ["", f"## {title}", "", lead, "", *[f"- {s.text}" for s in statements]]


def _sign_off(pb: Playbook, internal: bool) -> list[str]:
    if not pb.approvals:
        return []
    out = ["", "## Human sign-off", ""]
    out.append(
        "Nothing AI-generated ships without the sign-offs below."
        if internal
        else "Nothing AI-generated reaches you without the human sign-offs below."
    )
    for kind, rules in pb.approvals.items():
        if isinstance(rules, AudienceRules):
            pairs = [("for colleagues", rules.internal), ("for customers", rules.external)] if internal else [("", rules.external)]
        else:
            pairs = [("", rules)]
        for scope, rule in pairs:
            heading = f"### {kind.replace('-', ' ').capitalize()}" + (f" ({scope})" if scope else "")
            out += ["", heading, "", *_rule(pb, rule, internal)]
    return out


def _rule(pb: Playbook, rule: ApprovalRule, internal: bool) -> list[str]:
    names = list(dict.fromkeys(rule.approvers))
    many = "approval" if rule.required == 1 else "approvals"
    if rule.distinct_groups:
        need = f"{rule.required} {many}, each from a different group: {_join(names)}."
    else:
        need = f"{rule.required} {many} from members of {_join(names, 'or')}."
    out = [f"- Needs {need}"]
    if internal:
        out += [f"  - {name}: {_group_people(pb, name)}" for name in names]
    out.append(f"- {_SELF_APPROVAL[rule.self_approval]}")
    if rule.checklist:
        out.append("- Every approver confirms:")
        out += [f"  - {item.label}" for item in rule.checklist]
    if rule.high_assurance:
        out.append("- High assurance: each item is confirmed one by one, and no one may approve their own request.")
    if rule.require_documented_use_case:
        out.append("- The AI use case must be documented before sign-off.")
    if rule.remind_after:
        out.append(f"- Approvers are reminded after {describe_duration(rule.remind_after)}.")
    if rule.expire_after:
        out.append(f"- An unanswered request expires after {describe_duration(rule.expire_after)}.")
    if internal:
        out.append(f"- Requests are posted in channel {pb.approval_channel(rule)}.")
    return out


def _group_people(pb: Playbook, name: str) -> str:
    group = pb.groups[name]
    return ", ".join(group.members) if group.members is not None else f"members of Slack user group {group.usergroup}"


def _escalation(pb: Playbook, internal: bool) -> list[str]:
    severities = pb.escalation.severities
    if not severities:
        return []
    out = ["", "## AI incidents", ""]
    out.append(
        "Anyone can report an AI incident (a prompt injection, a data leak, a biased or harmful output). "
        "The people below are paged in order until one of them acknowledges."
    )
    for name in severities:
        chain = escalation_chain(pb, name)
        out += ["", f"### {name}" + (f": {chain.description}" if chain.description else ""), "", *_chain(pb, chain, internal)]
    if internal and pb.escalation.rotations:
        out += ["", "### On-call rotations", ""]
        for name, rotation in pb.escalation.rotations.items():
            out.append(
                f"- {name}: {', '.join(rotation.members) or 'nobody'} — {describe_duration(rotation.shift)} shifts, "
                f"handing over {rotation.handoff} ({pb.timezone})"
            )
    return out


def _chain(pb: Playbook, chain: EscalationChain, internal: bool) -> list[str]:
    out = []
    for number, step in enumerate(chain.steps, start=1):
        then = f"; after {describe_duration(step.wait)} without acknowledgement, the next step" if step.wait else ""
        if step.wait and number == len(chain.steps):
            then = f"; after {describe_duration(step.wait)} without acknowledgement, " + ("the chain starts again" if chain.repeat else "the chain ends")
        out.append(f"{number}. Page {_target(step.notify, internal)}{then}.")
    if chain.repeat:
        times = "once more" if chain.repeat == 1 else f"{chain.repeat} more times"
        out.append(f"- The whole chain runs {times} if nobody acknowledges.")
    if chain.incident_channel:
        out.append("- A dedicated incident channel is opened.")
    if chain.update_every:
        out.append(f"- Status updates every {describe_duration(chain.update_every)}.")
    return out


def _target(target: Target, internal: bool) -> str:
    if isinstance(target, RotationTarget):
        return f"the on-call person of the {target.name} rotation"
    if isinstance(target, GroupTarget):
        return f"the {target.name} group"
    if isinstance(target, UserTarget):
        return f"user {target.user}" if internal else "a named responder"
    assert isinstance(target, ChannelTarget)
    return f"the {target.role} channel"


def _cadences(pb: Playbook, internal: bool) -> list[str]:
    doc = pb.documentation
    out = ["", "## Documentation and review", ""]
    out.append(
        "Every AI use case and every AI vendor we rely on has a documented record (inputs, outputs, data sources, "
        "risks, mitigations, contract terms) with an owner, revisited on a schedule:"
    )
    out.append("")
    for label, record in (("AI use cases", "usecase"), ("AI vendors", "vendor")):
        general = doc.usecase_revisit if record == "usecase" else doc.vendor_revisit
        by_risk = doc.usecase_revisit_by_risk if record == "usecase" else doc.vendor_revisit_by_risk
        tiers = [
            f"{tier}-risk every {describe_duration(value)}"
            for tier in ("prohibited", "high", "limited", "minimal")
            if by_risk is not None and (value := getattr(by_risk, tier))
        ]
        extra = f" ({'; '.join(tiers)})" if tiers else ""
        out.append(f"- {label}: every {describe_duration(general)}{extra}.")
    out.append(f"- Owners are reminded {describe_duration(doc.due_soon)} before a review is due, on the day, and "
               f"again after {describe_duration(doc.renudge_after)}, then at doubling intervals; a review "
               f"may be put off by {describe_duration(doc.snooze)} at most {doc.max_snoozes} times.")
    out.append(f"- A record not revisited within {describe_duration(doc.stale_grace)} of its due date is raised with the governance team.")
    if internal and doc.digest is not None:
        out.append(f"- A digest of records due and overdue is posted {doc.digest.cron} ({pb.timezone}) in channel {pb.digest_channel()}.")
    return out


def _join(names: list[str], conjunction: str = "and") -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {conjunction} " + names[-1]

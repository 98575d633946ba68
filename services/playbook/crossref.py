"""Checks that need more than one section of a schema-valid playbook.

Each check yields `Problem(path, found, expected)` with `path` the keys/indices of the offending
value in the YAML document, so the loader can point at its line. Decisions, spelled out:

- An approval rule's `required` must be reachable: at most the number of approver groups when
  `distinct_groups` is true, and at most the number of distinct people in the approver groups when
  every one of them lists static members. A Slack user group's size is unknown offline, so a rule
  naming one is not counted (no guessing).
- A step without `wait` waits for an acknowledgement forever. Any step after it would never be
  reached, and a policy whose last step has no `wait` can never repeat; both are errors.
- Overrides must name an existing rotation and end after they start; the covering user need not
  be a member of the rotation (anyone may take a shift).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

from .schema import AudienceRules, ChannelTarget, GroupTarget, Playbook, RotationTarget

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    found: str
    expected: str


def check_references(pb: Playbook) -> list[Problem]:
    return [
        *_approvals(pb),
        *_statements(pb),
        *_severities(pb),
        *_policies(pb),
        *_rotations(pb),
        *_overrides(pb),
        *_documentation(pb),
        *_usage(pb),
        *_github(pb),
    ]


def _named(kind: str, known: list[str], name: str) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    listing = ", ".join(known) if known else "none defined"
    article = "an" if kind[0] in "aeiou" else "a"
    return f"the name of {article} {kind} ({listing}{hint})"


def _channel_role(pb: Playbook, ref: str | None, path: Path) -> Iterator[Problem]:
    if ref is not None and pb.channels.resolve(ref) is None:
        configured = [role for role in ("approvals", "governance", "digest", "incidents") if getattr(pb.channels, role)]
        yield Problem(path, f"'{ref}'", f"a channel role set under channels ({', '.join(configured)}) or a channel ID")


def _approvals(pb: Playbook) -> Iterator[Problem]:
    groups = list(pb.groups)
    for kind, rules in pb.approvals.items():
        pairs = [((kind, a), getattr(rules, a)) for a in ("internal", "external")] if isinstance(rules, AudienceRules) else [((kind,), rules)]
        for where, rule in pairs:
            base: Path = ("approvals", *where)
            unknown = False
            for index, name in enumerate(rule.approvers):
                if name not in pb.groups:
                    unknown = True
                    yield Problem((*base, "approvers", index), f"'{name}'", _named("group", groups, name))
                elif name in rule.approvers[:index]:
                    yield Problem((*base, "approvers", index), f"'{name}' twice", "each approver group once")
            yield from _channel_role(pb, rule.channel, (*base, "channel"))
            if unknown:
                continue
            names = list(dict.fromkeys(rule.approvers))
            if rule.distinct_groups and rule.required > len(names):
                yield Problem(
                    (*base, "required"),
                    str(rule.required),
                    f"at most {len(names)} (distinct_groups is true and the approver groups are {', '.join(names)})",
                )
                continue
            if all(pb.groups[name].members is not None for name in names):
                people = {user for name in names for user in pb.groups[name].members or ()}
                if rule.required > len(people):
                    yield Problem(
                        (*base, "required"),
                        str(rule.required),
                        f"at most {len(people)} (the number of approvers in {', '.join(names)})",
                    )


def _statements(pb: Playbook) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for section in ("allowed_uses", "off_limits"):
        for index, statement in enumerate(getattr(pb, section)):
            if statement.id in seen:
                yield Problem(
                    (section, index, "id"),
                    f"'{statement.id}' again (already used in {seen[statement.id]})",
                    "a unique id across allowed_uses and off_limits",
                )
            else:
                seen[statement.id] = section


def _severities(pb: Playbook) -> Iterator[Problem]:
    policies = list(pb.escalation.policies)
    for name, severity in pb.escalation.severities.items():
        if severity.policy not in pb.escalation.policies:
            yield Problem(("escalation", "severities", name, "policy"), f"'{severity.policy}'", _named("escalation policy", policies, severity.policy))


def _policies(pb: Playbook) -> Iterator[Problem]:
    rotations, groups = list(pb.escalation.rotations), list(pb.groups)
    for name, policy in pb.escalation.policies.items():
        base: Path = ("escalation", "policies", name)
        for index, step in enumerate(policy.steps):
            target, at = step.notify, (*base, "steps", index, "notify")
            if isinstance(target, RotationTarget) and target.name not in pb.escalation.rotations:
                yield Problem(at, f"'{target}'", _named("rotation", rotations, target.name))
            elif isinstance(target, GroupTarget) and target.name not in pb.groups:
                yield Problem(at, f"'{target}'", _named("group", groups, target.name))
            elif isinstance(target, ChannelTarget) and pb.channels.resolve(target.role) is None:
                yield Problem(at, f"'{target}'", f"a channel role set under channels (channels.{target.role} is not set)")
        for index, step in enumerate(policy.steps[:-1]):
            if step.wait is None:
                yield Problem(
                    (*base, "steps", index + 1),
                    f"a step after step {index + 1}, which has no wait",
                    "no steps after a step without wait (it waits for an acknowledgement forever, so steps after it would never be reached)",
                )
                break
        if policy.repeat and policy.steps[-1].wait is None:
            yield Problem(
                (*base, "repeat"),
                str(policy.repeat),
                "0, or a wait on the last step (without one the chain waits forever and never repeats)",
            )


def _rotations(pb: Playbook) -> Iterator[Problem]:
    for name, rotation in pb.escalation.rotations.items():
        if not rotation.members:
            yield Problem(("escalation", "rotations", name, "members"), "no members", "at least one Slack user ID (a rotation with no members pages nobody)")


def _overrides(pb: Playbook) -> Iterator[Problem]:
    rotations = list(pb.escalation.rotations)
    for index, override in enumerate(pb.escalation.overrides):
        base: Path = ("escalation", "overrides", index)
        if override.rotation not in pb.escalation.rotations:
            yield Problem((*base, "rotation"), f"'{override.rotation}'", _named("rotation", rotations, override.rotation))
        start, end = override.interval(pb.tz)
        if end.astimezone(UTC) <= start.astimezone(UTC):
            yield Problem((*base, "end"), end.isoformat(), f"a moment after start ({start.isoformat()})")


def _documentation(pb: Playbook) -> Iterator[Problem]:
    doc = pb.documentation
    groups = list(pb.groups)
    for index, name in enumerate(doc.approvers):
        if name not in pb.groups:
            yield Problem(("documentation", "approvers", index), f"'{name}'", _named("group", groups, name))
    if doc.digest is not None:
        yield from _channel_role(pb, doc.digest.channel, ("documentation", "digest", "channel"))


def _usage(pb: Playbook) -> Iterator[Problem]:
    usage = pb.usage
    groups = list(pb.groups)
    yield from _channel_role(pb, usage.channel, ("usage", "channel"))
    for g, grant in enumerate(usage.allow or ()):
        for index, name in enumerate(grant.groups):
            if name not in pb.groups:
                yield Problem(("usage", "allow", g, "groups", index), f"'{name}'",
                              _named("group", groups, name))
        if not grant.groups and not grant.services:
            yield Problem(("usage", "allow", g), "a grant naming neither groups nor services",
                          "groups, services or both: whom the grant is for")


def _github(pb: Playbook) -> Iterator[Problem]:
    if pb.github is None:
        return
    kinds = list(pb.approvals)
    if pb.github.kind not in pb.approvals:
        yield Problem(("github", "kind"), f"'{pb.github.kind}'", _named("approval kind", kinds, pb.github.kind))

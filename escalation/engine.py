"""The escalation chain as pure functions over its snapshot.

Positions are 1-based, as in `planned_pages`: (round 1, step 1) is the first page; round 2 is
the first repeat. `next_step` walks the chain; `resolve_target` says whom a step reaches at the
moment it fires — the person on call *then* for a rotation (with the overrides the caller
passes), a group's members, a user, or a channel — and reports an empty target (nobody on call,
a group with nobody in it) as empty, with the reason, so the caller can skip the step at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from services.playbook.oncall import on_call, who_is_on_call
from services.playbook.schema import (
    ChannelTarget,
    GroupTarget,
    Override,
    Playbook,
    RotationTarget,
    Step,
    UserTarget,
)
from services.playbook.snapshot import EscalationChain, PlannedPage, planned_pages

GroupMembers = Mapping[str, Sequence[str]]


class Position(NamedTuple):
    round: int  # 1-based; round 2 is the first repeat
    step: int  # 1-based within the policy


FIRST = Position(1, 1)


def plan(chain: EscalationChain, start: datetime) -> list[PlannedPage]:
    """Every (round, step, at, target, wait) in order if nobody acknowledges, from `start`."""
    return planned_pages(chain, start)


def rounds(chain: EscalationChain) -> int:
    return chain.repeat + 1


def step_at(chain: EscalationChain, position: Position) -> Step:
    return chain.steps[position.step - 1]


def next_step(chain: EscalationChain, round: int, step: int) -> Position | None:
    """The position after (round, step); None once the last step of the last round is done.

    A step without `wait` waits for an acknowledgement forever, so nothing follows it.
    """
    if chain.steps[step - 1].wait is None:
        return None
    if step < len(chain.steps):
        return Position(round, step + 1)
    if round < rounds(chain):
        return Position(round + 1, 1)
    return None


@dataclass(frozen=True)
class Reach:
    """Whom one step reaches: people to DM, or a channel to post in; nobody, with `reason`."""

    target: str
    users: tuple[str, ...] = ()
    channel: str | None = None
    reason: str | None = None

    @property
    def empty(self) -> bool:
        return not self.users and self.channel is None


def resolve_target(
    target: RotationTarget | GroupTarget | UserTarget | ChannelTarget,
    *,
    playbook: Playbook,
    now: datetime,
    group_members: GroupMembers | None = None,
    overrides: Mapping[str, Sequence[Override]] | None = None,
) -> Reach:
    """Whom `target` reaches at `now` (aware).

    Rotations: the person on call at `now`, with `overrides[name]` when given (the effective
    ones: playbook and Slack overrides), else the playbook's own. Groups: `group_members[name]`
    when given, else the playbook's static members. A channel role resolves through the
    playbook's channels.
    """
    label = str(target)
    if isinstance(target, RotationTarget):
        rotation = playbook.escalation.rotations.get(target.name)
        if rotation is None:
            return Reach(label, reason=f"the rotation {target.name} is not in the playbook")
        if overrides is not None and target.name in overrides:
            user = on_call(rotation, overrides[target.name], now, playbook.tz)
        else:
            user = who_is_on_call(playbook, target.name, now)
        if user is None:
            return Reach(label, reason=f"nobody is on call for {target.name}")
        return Reach(label, users=(user,))
    if isinstance(target, GroupTarget):
        if group_members is not None and target.name in group_members:
            members = group_members[target.name]
        else:
            group = playbook.groups.get(target.name)
            members = (group.members or ()) if group is not None else ()
        users = tuple(dict.fromkeys(members))
        if not users:
            return Reach(label, reason=f"the group {target.name} has nobody in it")
        return Reach(label, users=users)
    if isinstance(target, UserTarget):
        return Reach(label, users=(target.user,))
    channel = playbook.channels.resolve(target.role)
    if channel is None:
        return Reach(label, reason=f"no {target.role} channel is set in the playbook")
    return Reach(label, channel=channel)

"""What a firing step needs besides the chain, frozen when the incident opens.

A step is fired by whichever clock process claims its timer, and each process holds its own
copy of the playbook (a reload reaches them one by one). So that a page never depends on which
process fires it, an incident freezes, next to its chain, the rotations and standing overrides
its steps name, its groups' members as resolved at opening (Slack user groups included: a
timer cannot ask Slack), the admins (told when the chain runs out), the channels and the time
zone. Whom a rotation reaches is still decided when the step fires — the person on call then —
and overrides made from Slack (stored rows) apply live on top of the frozen standing ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.incident import Incident
from services.playbook.schema import GroupTarget, Playbook, RotationTarget
from services.playbook.snapshot import EscalationChain

GroupMembers = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Roster:
    playbook: Playbook  # partial: time zone, admins, channels, the chain's rotations and overrides
    groups: dict[str, list[str]]  # group name → members as resolved at opening
    usergroups: dict[str, str | None]  # group name → its Slack user group, if it is one

    @property
    def admins(self) -> tuple[str, ...]:
        return self.playbook.admins


def take(pb: Playbook, chain: EscalationChain, group_members: GroupMembers | None) -> dict[str, Any]:
    """The roster of an incident opening now under `chain`, as JSON."""
    rotations = list(dict.fromkeys(s.notify.name for s in chain.steps if isinstance(s.notify, RotationTarget)))
    groups = list(dict.fromkeys(s.notify.name for s in chain.steps if isinstance(s.notify, GroupTarget)))
    members: dict[str, list[str]] = {}
    for name in groups:
        if group_members is not None and name in group_members:
            members[name] = list(dict.fromkeys(group_members[name]))
        else:
            group = pb.groups.get(name)
            members[name] = list(group.members or ()) if group is not None else []
    return {
        "timezone": pb.timezone,
        "admins": list(pb.admins),
        "channels": pb.channels.model_dump(mode="json"),
        "rotations": {name: pb.escalation.rotations[name].model_dump(mode="json")
                      for name in rotations if name in pb.escalation.rotations},
        "overrides": [o.model_dump(mode="json") for o in pb.escalation.overrides if o.rotation in rotations],
        "groups": members,
        "usergroups": {name: pb.groups[name].usergroup if name in pb.groups else None for name in groups},
    }


def roster_of(incident: Incident) -> Roster:
    data = incident.roster
    # Schema validation only: the cross-reference checks ran when the playbook was loaded.
    playbook = Playbook.model_validate({
        "version": 1,
        "timezone": data["timezone"],
        "admins": data["admins"],
        "channels": data["channels"],
        "escalation": {"rotations": data["rotations"], "overrides": data["overrides"]},
    })
    return Roster(playbook, {k: list(v) for k, v in data.get("groups", {}).items()},
                  dict(data.get("usergroups", {})))

"""Who may do what to a record: plain sets of user IDs, resolved by the caller."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Authority:
    """`user` acts; `governors` are the playbook's admins and documentation approvers."""

    user: str
    governors: frozenset[str] = field(default_factory=frozenset)

    @property
    def governs(self) -> bool:
        return self.user in self.governors


SYSTEM = "countersign"

"""What a playbook reload changes in the record: an audit event and, for the governance
channel, one message per distinct change — the same change seen by several processes
(each reloads its own copy) is announced once, because the outbox key is the change."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from services import audit, outbox


def record_applied(session: Session, *, now: datetime, actor: str, trigger: str, process: str,
                   path: str, previous_hash: str, new_hash: str, version: int,
                   governance_channel: str) -> None:
    audit.append(session, at=now, actor=actor, action="playbook.applied", entity_type="playbook",
                 entity_id=new_hash[:12],
                 payload={"trigger": trigger, "process": process, "path": path,
                          "previous": previous_hash, "current": new_hash, "version": version})
    outbox.enqueue(session, key=f"playbook-applied:{previous_hash[:16]}:{new_hash[:16]}",
                   method="chat.postMessage", channel=governance_channel,
                   template="playbook_applied", now=now,
                   payload={"path": path, "hash": new_hash[:12], "previous": previous_hash[:12],
                            "version": version, "actor": actor, "trigger": trigger})


def record_refused(session: Session, *, now: datetime, actor: str, trigger: str, process: str,
                   path: str, current_hash: str, refused_hash: str, issues: list[str],
                   governance_channel: str) -> None:
    audit.append(session, at=now, actor=actor, action="playbook.refused", entity_type="playbook",
                 entity_id=refused_hash[:12],
                 payload={"trigger": trigger, "process": process, "path": path,
                          "kept": current_hash, "refused": refused_hash, "issues": issues})
    outbox.enqueue(session, key=f"playbook-refused:{current_hash[:16]}:{refused_hash[:16]}",
                   method="chat.postMessage", channel=governance_channel,
                   template="playbook_refused", now=now,
                   payload={"path": path, "kept": current_hash[:12], "refused": refused_hash[:12],
                            "issues": issues, "actor": actor, "trigger": trigger})


def record_denied(session: Session, *, now: datetime, actor: str, action: str) -> None:
    """Someone tried what only an admin may do; the attempt itself is part of the record."""
    audit.append(session, at=now, actor=actor, action="playbook.denied", entity_type="playbook",
                 entity_id="-", payload={"attempted": action})


def record_unresolved_groups(session: Session, *, now: datetime, playbook_hash: str,
                             problems: dict[str, str], governance_channel: str) -> None:
    """Groups of the playbook in force whose members are unknown: governance is told once per
    playbook and group (every start and reload asks again), and so is the audit log."""
    for group, error in sorted(problems.items()):
        if not outbox.owe(session, key=f"usergroup-unresolved:{playbook_hash[:16]}:{group}",
                          method="chat.postMessage", channel=governance_channel,
                          template="usergroup_unresolved", now=now,
                          payload={"group": group, "error": error, "hash": playbook_hash[:12]}):
            continue  # told already, by this process or another
        audit.append(session, at=now, actor="countersign", action="playbook.group_unresolved",
                     entity_type="playbook", entity_id=playbook_hash[:12], payload={"group": group, "error": error})

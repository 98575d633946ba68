"""Outbox templates: the names services use, and the pure builders that render them."""

from collections.abc import Callable
from typing import Any

from blocks import approvals, audit_witness, digest, incidents, oncall, playbook, registry, usage_alerts

TEMPLATES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "playbook_applied": playbook.playbook_applied,
    "playbook_refused": playbook.playbook_refused,
    "usergroup_unresolved": playbook.usergroup_unresolved,
    **approvals.TEMPLATES,
    **incidents.TEMPLATES,
    **oncall.TEMPLATES,
    **registry.TEMPLATES,
    **digest.TEMPLATES,
    **audit_witness.TEMPLATES,
    **usage_alerts.TEMPLATES,
}

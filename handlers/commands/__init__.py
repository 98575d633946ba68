"""Slash commands, one `register(app)` per command; unbuilt capabilities say so."""

from slack_bolt.async_app import AsyncApp

from handlers.commands import approve, audit, incident, oncall, playbook, registry
from handlers.commands.router import register_command

CAPABILITIES: dict[str, str] = {}


def register(app: AsyncApp) -> None:
    for name, capability in CAPABILITIES.items():
        register_command(app, name, capability=capability)
    approve.register(app)
    audit.register(app)
    incident.register(app)
    oncall.register(app)
    playbook.register(app)
    registry.register(app)

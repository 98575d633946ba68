"""Thin Slack listeners: parse the payload, call a service, render Block Kit."""

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers import (
    actions,
    catalogue,
    commands,
    errors,
    events,
    fallbacks,
    middleware,
    options,
    shortcuts,
    views,
)

# Every surface's `register(app)`; catalogue() reads what they register from these same calls.
SURFACES = (commands.register, actions.register, views.register, options.register,
            shortcuts.register, events.register)


def register_listeners(app: AsyncApp, services: Any) -> None:
    middleware.install(app, services)
    errors.register(app)
    for register in SURFACES:
        register(app)
    fallbacks.register(app)  # last: Bolt tries listeners in order, so only what none took


def listened_to() -> catalogue.Catalogue:
    """What the product registers, for labelling metrics by names we defined."""
    return catalogue.record(SURFACES)

"""Thin Slack listeners: parse the payload, call a service, render Block Kit."""

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers import actions, commands, errors, events, middleware, options, shortcuts, views


def register_listeners(app: AsyncApp, services: Any) -> None:
    middleware.install(app, services)
    errors.register(app)
    commands.register(app)
    actions.register(app)
    views.register(app)
    options.register(app)
    shortcuts.register(app)
    events.register(app)

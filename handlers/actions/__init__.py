from slack_bolt.async_app import AsyncApp

from handlers.actions import approvals, audit, incidents, registry, usage_alerts


def register(app: AsyncApp) -> None:
    approvals.register(app)
    audit.register(app)
    incidents.register(app)
    registry.register(app)
    usage_alerts.register(app)

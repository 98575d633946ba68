"""What every usage view takes from the running bot: the playbook's attribution and calendar,
and since when raw events are surely kept (USAGE_RETENTION)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.usage import views


def usage_scope(services: Any, now: datetime) -> dict[str, Any]:
    """Keyword arguments for services.usage.views' functions."""
    pb = services.playbook.current.playbook
    return {"usage": pb.usage, "raw_from": views.raw_horizon(now, services.settings.usage_retention),
            "tz": pb.tz}

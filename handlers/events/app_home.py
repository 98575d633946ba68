"""App Home: your sign-offs waiting, your requests, your records due, vendor reviews you sign
off, open incidents and who is on call — each section a bounded page, with pagers — and, for
the playbook's admins, the week's AI usage and the usage alerts still open."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import escalation
from blocks.home import (
    HOME_ALERTS,
    HOME_INCIDENTS,
    HOME_MINE,
    HOME_RECORDS,
    HOME_VENDORS,
    HOME_WAITING,
    PAGE,
    PAGED,
    home_view,
    parse_page_value,
)
from handlers.usage_context import usage_scope
from services import approvals, registry
from services.usage import views as usage_views

USAGE_DAYS = timedelta(days=7)


async def publish_home(client: AsyncWebClient, services: Any, user: str,
                       notice: str | None = None, pages: dict[str, int] | None = None) -> None:
    pb = services.playbook.current.playbook
    resolution = await services.directory.resolve(pb)
    offsets = {name: max(0, (pages or {}).get(name, 0)) for name in PAGED}
    now = services.clock.now()
    soon = pb.documentation.due_soon

    def page(items_total: tuple[list, int], name: str) -> dict[str, Any]:
        items, total = items_total
        return {"items": items, "total": total, "offset": offsets[name]}

    def load() -> dict[str, Any]:
        with services.db.session() as s:
            # One more than shown tells whether to say "more".
            return {
                "waiting": approvals.waiting_for(s, user=user, group_members=resolution.members,
                                                 limit=HOME_WAITING + 1, offset=0),
                "mine": approvals.requested_by(s, user=user, limit=HOME_MINE + 1, offset=0),
                "records": page(registry.due_for(s, user=user, now=now, soon=soon, limit=HOME_RECORDS,
                                                 offset=offsets["records"], tz=pb.tz), "records"),
                "vendors": page(registry.reviewing(s, user=user, now=now, soon=soon, limit=HOME_VENDORS,
                                                   offset=offsets["vendors"], tz=pb.tz), "vendors"),
                "incidents": page(escalation.open_incident_page(s, limit=HOME_INCIDENTS,
                                                                offset=offsets["incidents"]), "incidents"),
                "on_call": [(name, escalation.on_call_now(s, pb, name, now)) for name in pb.escalation.rotations],
                # Who used which AI is the admins' to read, as the audit log is (/ai-audit usage).
                "usage": _usage(s, services, now) if user in pb.admins else None,
            }

    sections = await services.db.run(load)
    await client.views_publish(user_id=user, view=home_view(notice=notice, tz=pb.timezone, **sections))


def _usage(session: Any, services: Any, now: Any) -> dict[str, Any]:
    return {"week": usage_views.week(session, since=now - USAGE_DAYS, until=now, **usage_scope(services, now)),
            "alerts": usage_views.open_alerts(session, limit=HOME_ALERTS)}


async def on_app_home_opened(event: dict[str, Any], client: AsyncWebClient,
                             context: Any) -> None:
    if event.get("tab", "home") != "home" or not isinstance(event.get("user"), str):
        return  # the Messages tab, or an event that names nobody to publish for
    await publish_home(client, context["services"], event["user"])


async def on_page(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
    await ack()
    section, offset = parse_page_value(body["actions"][0].get("value"))
    await publish_home(client, context["services"], body["user"]["id"], pages={section: offset})


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_app_home_opened)
    app.action(re.compile(f"^{PAGE}_"))(on_page)

"""Previous/Next on an /ai-audit page. The button's value (a seq cursor and the filter) came
back from the client, so it is read back strictly, and who clicked is checked again: a page of
the whole log is the admins'; an entity's history is whoever may read that entity."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import values
from blocks.audit import NEXT, PAGE_ACTIONS, admins_only, log_page, parse_page_value, refused
from blocks.help import error_message
from blocks.text import escape
from handlers.commands.audit import PAGE, entity_asked, reader_of, record_denial, title_of
from handlers.registry_context import in_session
from services.audit_log import access, browse, filter_text
from services.audit_log.query import FilterError


async def on_page(ack: Any, body: dict[str, Any], respond: Any, context: Any) -> None:
    await ack()
    services = context["services"]
    action = body["actions"][0]
    cursor, words = parse_page_value(action.get("value"))
    try:
        flt = filter_text.read_back(words, now=services.clock.now())
    except FilterError:
        raise values.ButtonValueError("a filter this bot did not write") from None
    direction = browse.OLDER if action.get("action_id") == NEXT else browse.NEWER
    entity = entity_asked(flt)
    reader = await reader_of(services, body["user"]["id"], resolve=entity is not None)
    asked = f"page of /ai-audit {words}".strip()

    def load(s: Any) -> tuple[access.Verdict | None, browse.Page | None]:
        verdict = None
        if not reader.is_admin:
            if entity is None:
                return None, None
            verdict = access.may_read(s, reader, *entity)
            if not verdict.allowed:
                return verdict, None
        return verdict, browse.newest_first(s, flt, limit=PAGE, direction=direction, cursor=cursor)

    verdict, page = await in_session(services, load)
    pb = services.playbook.current.playbook
    if page is None:
        if verdict is None:
            await record_denial(services, reader, asked=asked, reason=access.ADMINS_ONLY)
            await respond(replace_original=False, **admins_only(pb.admins))
        elif not verdict.exists:
            await respond(replace_original=False, **error_message(escape(verdict.reason)))
        else:
            await record_denial(services, reader, asked=asked, reason=verdict.reason,
                                entity=(entity[0], str(entity[1])))
            await respond(replace_original=False, **refused(verdict.reason))
        return
    await respond(replace_original=True, **log_page(page.events, title=title_of(flt), filter_text=words,
                                                    newer=page.newer, older=page.older, tz=pb.timezone))


def register(app: AsyncApp) -> None:
    for action_id in PAGE_ACTIONS:
        app.action(action_id)(on_page)

"""/ai-usecase and /ai-vendor: document, list, show, edit, review and retire records."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import registry as registry_blocks
from blocks.help import error_message
from blocks.playbook import plain_answer
from blocks.registry_forms import record_modal, vendor_review_modal
from blocks.text import escape, mention
from handlers.commands.router import register_command
from handlers.registry_context import authority, in_session, in_session_audited, parse_id
from handlers.usage_context import usage_scope
from services import registry
from services.registry import digest
from services.registry.views import FILTERS
from services.usage import views as usage_views

PAGE = 20
STATUS_FILTERS = {"usecase": ("proposed", "approved", "rejected", "retired"),
                  "vendor": ("not_started", "in_review", "reviewed", "requires_follow_up", "rejected")}
OTHER = {"usecase": "vendor", "vendor": "usecase"}


def _soon(services: Any) -> Any:
    return services.playbook.current.playbook.documentation.due_soon


def _tz(services: Any) -> Any:
    return services.playbook.current.playbook.tz


async def open_new(ack: Any, client: Any, body: dict[str, Any], context: Any, kind: str, **_: Any) -> None:
    await ack()
    services = context["services"]
    links = await in_session(services, lambda s: registry.choices(s, OTHER[kind], limit=101))
    defaults = {"owner": body["user_id"]} if kind == "usecase" else {"assignee": body["user_id"]}
    await client.views_open(trigger_id=body["trigger_id"], view=record_modal(
        kind, mode="new", record=defaults, links=links, metadata=body.get("channel_id") or ""))


async def list_records(ack: Any, respond: Any, command: dict[str, Any], args: str, context: Any,
                       kind: str, **_: Any) -> None:
    words = args.lower().split()
    which = words[0] if words and not words[0].isdigit() else "all"
    page = int(words[-1]) if words and words[-1].isdigit() else 1
    allowed = (*[f for f in FILTERS if f != "mine_due"], *STATUS_FILTERS[kind])
    if which not in allowed or page < 1 or page > 10_000:
        await ack(**error_message(f"Usage: `/ai-{kind} list [{'|'.join(allowed)}] [page]`."))
        return
    await ack()
    services = context["services"]
    offset = (page - 1) * PAGE
    items, total = await in_session(services, lambda s: registry.list_records(
        s, kind, which=which, user=command["user_id"], now=services.clock.now(), soon=_soon(services),
        limit=PAGE, offset=offset, tz=_tz(services)))
    await respond(**registry_blocks.list_message(kind, which, items, total, offset=offset, page_size=PAGE))


async def _record_id(ack: Any, kind: str, word: str, args: str) -> int | None:
    record_id = parse_id(args.split()[0]) if args.split() else None
    if record_id is None:
        await ack(**error_message(f"Usage: `/ai-{kind} {word} &lt;id&gt;`, e.g. `/ai-{kind} {word} 12`."))
    return record_id


async def show(ack: Any, respond: Any, args: str, context: Any, kind: str, word: str, **_: Any) -> None:
    record_id = await _record_id(ack, kind, word, args)
    if record_id is None:
        return
    await ack()
    services = context["services"]

    now = services.clock.now()

    def load(s: Any) -> dict[str, Any]:
        record = registry.get(s, kind, record_id)
        view = registry.record_view(s, kind, record, now=now, soon=_soon(services),
                                    history=registry.history(s, kind, record_id, limit=8), tz=_tz(services))
        if kind == "usecase":
            view["observed"] = usage_views.observed_for_use_case(s, record_id, now=now,
                                                                 **usage_scope(services, now))
        return view

    try:
        view = await in_session(services, load)
    except registry.RegistryInputError as exc:
        await respond(**error_message(exc.message))
        return
    await respond(**registry_blocks.record_message(view))


async def open_edit(services: Any, client: Any, *, kind: str, record_id: int, user: str,
                    trigger_id: str, channel: str | None) -> str | None:
    """Open the edit form; the reason it cannot be opened, or None."""
    who = await authority(services, user)

    def load(s: Any) -> tuple[dict[str, Any], list]:
        record = registry.get(s, kind, record_id)
        registry.require_keeper(kind, record, who, "edit")  # before a form they could not submit
        return (registry.record_view(s, kind, record, now=services.clock.now(), tz=_tz(services)),
                registry.choices(s, OTHER[kind], limit=101))

    try:
        view, links = await in_session_audited(services, load, kind=kind, record_id=record_id, user=user,
                                               attempted="edit")
    except registry.RegistryInputError as exc:
        return exc.message
    await client.views_open(trigger_id=trigger_id, view=record_modal(
        kind, mode="edit", record=view, links=links, metadata=f"{record_id}:{channel or ''}"))
    return None


async def edit(ack: Any, respond: Any, client: Any, body: dict[str, Any], args: str, context: Any,
               kind: str, word: str, **_: Any) -> None:
    record_id = await _record_id(ack, kind, word, args)
    if record_id is None:
        return
    await ack()
    problem = await open_edit(context["services"], client, kind=kind, record_id=record_id,
                              user=body["user_id"], trigger_id=body["trigger_id"],
                              channel=body.get("channel_id"))
    if problem:
        await respond(**error_message(problem))


async def review(services: Any, client: Any, *, kind: str, record_id: int, user: str, trigger_id: str,
                 tag: str | None = None) -> str | None:
    """A use case is marked reviewed by `user`; a vendor's review form opens for its reviewer.
    Returns the sentence to tell them (the outcome, or why not), None when a form opened.
    `tag`: the review date of the nudge clicked, so a stale nudge changes nothing."""
    if kind == "vendor":
        return await open_vendor_review(services, client, record_id=record_id, user=user, trigger_id=trigger_id)
    who = await authority(services, user)
    pb = services.playbook.current.playbook

    def write(s: Any) -> str:
        record = registry.mark_reviewed(s, "usecase", record_id, authority=who, now=services.clock.now(),
                                        playbook=pb, tag=tag)
        return (f"{registry.ref('usecase', record_id)} {escape(record.title)} marked reviewed by {mention(user)}; "
                f"next review {record.next_review_at.astimezone(pb.tz):%Y-%m-%d}.")

    try:
        return await in_session_audited(services, write, kind="usecase", record_id=record_id, user=user,
                                        attempted="mark_reviewed")
    except registry.RegistryInputError as exc:
        return exc.message


async def open_vendor_review(services: Any, client: Any, *, record_id: int, user: str,
                             trigger_id: str) -> str | None:
    who = await authority(services, user)

    def load(s: Any) -> dict[str, Any]:
        vendor = registry.get(s, "vendor", record_id)
        registry.require_reviewer("vendor", vendor, who)  # before a form they could not submit
        return registry.record_view(s, "vendor", vendor, now=services.clock.now(), tz=_tz(services))

    try:
        view = await in_session_audited(services, load, kind="vendor", record_id=record_id, user=user,
                                        attempted="mark_reviewed")
    except registry.RegistryInputError as exc:
        return exc.message
    await client.views_open(trigger_id=trigger_id, view=vendor_review_modal(view))
    return None


async def reviewed(ack: Any, respond: Any, client: Any, body: dict[str, Any], args: str, context: Any,
                   kind: str, word: str, **_: Any) -> None:
    record_id = await _record_id(ack, kind, word, args)
    if record_id is None:
        return
    await ack()
    text = await review(context["services"], client, kind=kind, record_id=record_id, user=body["user_id"],
                        trigger_id=body["trigger_id"])
    if text:
        # A vendor's answer is only ever a refusal; a use case's may be the review itself.
        await respond(**error_message(text) if kind == "vendor" else {"response_type": "ephemeral", "text": text})


async def retire(ack: Any, respond: Any, body: dict[str, Any], args: str, context: Any, word: str,
                 **_: Any) -> None:
    record_id = await _record_id(ack, "usecase", word, args)
    if record_id is None:
        return
    await ack()
    services = context["services"]
    who = await authority(services, body["user_id"])

    def write(s: Any) -> str:
        record = registry.retire(s, record_id, authority=who, now=services.clock.now(),
                                 playbook=services.playbook.current.playbook)
        return f"{registry.ref('usecase', record_id)} {escape(record.title)} is retired; no more review reminders."

    try:
        text = await in_session_audited(services, write, kind="usecase", record_id=record_id,
                                        user=body["user_id"], attempted="retire")
    except registry.RegistryInputError as exc:
        await respond(**error_message(exc.message))
        return
    await respond(response_type="ephemeral", text=text)


async def digest_setting(ack: Any, respond: Any, body: dict[str, Any], args: str, context: Any,
                         **_: Any) -> None:
    choice = args.strip().lower()
    if choice not in ("on", "off"):
        await ack(**error_message("Usage: `/ai-usecase digest on` or `/ai-usecase digest off`."))
        return
    await ack()
    services = context["services"]
    user = body["user_id"]
    changed = await in_session(services, lambda s: digest.subscribe(s, user=user, on=choice == "on",
                                                                      now=services.clock.now()))
    pb = services.playbook.current.playbook
    schedule = pb.documentation.digest.cron if pb.documentation.digest else None
    if choice == "on":
        when = f" every {schedule} ({pb.timezone})" if schedule else \
            " once the playbook sets `documentation.digest`"
        text = ("Your personal digest is on" if changed else "Your personal digest was already on") + \
            f": a DM{when} with what waits for you."
    else:
        text = "Your personal digest is off." if changed else "Your personal digest was already off."
    await respond(**plain_answer(text, title="Personal digest", code=False))


def _bind(handler: Any, kind: str) -> Any:
    return partial(handler, kind=kind)


def register(app: AsyncApp) -> None:
    for kind in ("usecase", "vendor"):
        subcommands = {"": _bind(list_records, kind), "new": _bind(open_new, kind),
                       "list": _bind(list_records, kind), "show": _bind(show, kind),
                       "edit": _bind(edit, kind), "reviewed": _bind(reviewed, kind)}
        if kind == "usecase":
            subcommands |= {"retire": retire, "digest": digest_setting}
        register_command(app, f"/ai-{kind}", capability=f"the AI {kind} registry", subcommands=subcommands)

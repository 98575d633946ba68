"""/ai-audit: the sealed audit log — all of it, filtered, for the playbook's admins; the history
of one request, incident or record for whoever takes part in it; and what AI was used, by whom
(`usage`), for those who may read the log as a whole."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import values
from blocks.audit import (
    ENTITY_WORDS,
    admins_only,
    checkpoint_answer,
    log_page,
    refused,
    verify_answer,
)
from blocks.help import error_message
from blocks.text import escape, plain
from blocks.usage import summary_message
from handlers.commands.router import register_command
from handlers.registry_context import in_session, parse_id
from handlers.usage_context import usage_scope
from services.audit_log import access, browse, filter_text
from services.audit_log.query import AuditFilter, FilterError
from services.usage import filter_text as usage_words
from services.usage import views as usage_views

PAGE = 15
USAGE = escape("Filters, in any order: `actor:@user`, `action:approval.*` (a prefix) or "
               "`action:approval.approved`, `entity:request:42`, `since:7d` or `since:2026-11-01`, "
               "`until:…` the same way; e.g. `/ai-audit actor:@mara action:approval.* since:7d`. "
               "`/ai-audit help` shows everything /ai-audit does.")
LISTING_TITLE = "Audit log"
USAGE_FILTERS = escape("Filters, in any order: `since:7d` (the default) or `since:2026-11-01`, `until:…` the "
                       "same way, `model:gpt-4o` (its dated versions too), `user:@mara`, `usecase:UC-3`; e.g. "
                       "`/ai-audit usage since:30d model:gpt-4o`.")
READ_USAGE = "read AI usage"


async def reader_of(services: Any, user: str, *, resolve: bool = True) -> access.Reader:
    """`user` with the playbook's admins, documentation approvers and groups as resolved now.
    Without `resolve`, only the admins (all an admin-only answer needs; no Slack call)."""
    pb = services.playbook.current.playbook
    admins = frozenset(pb.admins)
    if not resolve:
        return access.Reader(user=user, admins=admins)
    resolution = await services.directory.resolve(pb)
    governors = set(admins)
    for name in pb.documentation.approvers:
        governors.update(resolution.members.get(name, ()))
    return access.Reader(user=user, admins=admins, governors=frozenset(governors),
                         group_members=resolution.members)


async def record_denial(services: Any, reader: access.Reader, *, asked: str, reason: str,
                        entity: tuple[str, str] | None = None) -> None:
    """The refusal on the log, in a transaction of its own (nothing else was written)."""
    await in_session(services, lambda s: access.deny(s, reader=reader, now=services.clock.now(), asked=asked,
                                                     reason=reason, entity=entity))


def history_title(entity_type: str, entity_id: str) -> str:
    return f"History of {ENTITY_WORDS.get(entity_type, entity_type)} {entity_id}"


def entity_asked(flt: AuditFilter) -> tuple[str, int] | None:
    """(entity type, id) when the filter is one entity's history and nothing else — what an
    entity history's buttons carry — else None."""
    if flt != AuditFilter(entity_type=flt.entity_type, entity_id=flt.entity_id):
        return None
    if flt.entity_type not in access.WORD or flt.entity_id is None:
        return None
    try:
        return flt.entity_type, values.record_id(flt.entity_id)
    except values.ButtonValueError:
        return None


def title_of(flt: AuditFilter) -> str:
    entity = entity_asked(flt)
    return history_title(entity[0], str(entity[1])) if entity else LISTING_TITLE


def _filter_words(command: dict[str, Any]) -> str:
    """What follows `/ai-audit` (or `/ai-audit recent`), as the person typed it."""
    text = plain(command.get("text") or "").strip()
    first, _, rest = text.partition(" ")
    return rest.strip() if first.lower() == "recent" else text


async def listing(ack: Any, respond: Any, command: dict[str, Any], context: Any, **_: Any) -> None:
    services = context["services"]
    pb = services.playbook.current.playbook
    user = command["user_id"]
    words = _filter_words(command)
    if user not in pb.admins:
        await ack(**admins_only(pb.admins))
        await record_denial(services, await reader_of(services, user, resolve=False),
                            asked=f"/ai-audit {words}".strip(), reason=access.ADMINS_ONLY)
        return
    try:
        flt = filter_text.parse(words, now=services.clock.now())
    except FilterError as exc:
        await ack(**error_message(f"{escape(str(exc))}. {USAGE}"))
        return
    await ack()
    page = await in_session(services, lambda s: browse.newest_first(s, flt, limit=PAGE))
    await respond(**log_page(page.events, title=title_of(flt), filter_text=filter_text.render(flt),
                             newer=page.newer, older=page.older, tz=pb.timezone))


async def history(ack: Any, respond: Any, command: dict[str, Any], args: str, context: Any, word: str,
                  **_: Any) -> None:
    entity_type = access.KINDS[word]
    given = args.split()
    entity_id = parse_id(given[0]) if len(given) == 1 else None
    if entity_id is None:
        await ack(**error_message(f"Usage: `/ai-audit {word} &lt;id&gt;`, e.g. `/ai-audit {word} 12`."))
        return
    await ack()
    services = context["services"]
    reader = await reader_of(services, command["user_id"])
    flt = AuditFilter(entity_type=entity_type, entity_id=str(entity_id))

    def load(s: Any) -> tuple[access.Verdict, browse.Page | None]:
        verdict = access.may_read(s, reader, entity_type, entity_id)
        return verdict, browse.newest_first(s, flt, limit=PAGE) if verdict.allowed else None

    verdict, page = await in_session(services, load)
    if not verdict.exists:
        await respond(**error_message(escape(verdict.reason)))
        return
    if page is None:
        await record_denial(services, reader, asked=f"/ai-audit {word} {entity_id}", reason=verdict.reason,
                            entity=(entity_type, str(entity_id)))
        await respond(**refused(verdict.reason))
        return
    await respond(**log_page(page.events, title=title_of(flt),
                             filter_text=filter_text.render(flt), newer=page.newer, older=page.older,
                             tz=services.playbook.current.playbook.timezone,
                             empty=f"No sealed events about {ENTITY_WORDS[entity_type]} {entity_id} yet."))


async def usage(ack: Any, respond: Any, command: dict[str, Any], args: str, context: Any, **_: Any) -> None:
    """Usage is read by whoever may read the whole log: it names people and what they used."""
    services = context["services"]
    pb = services.playbook.current.playbook
    reader = await reader_of(services, command["user_id"], resolve=False)
    if not reader.is_admin:
        await ack(**admins_only(pb.admins, what=READ_USAGE))
        await record_denial(services, reader, asked=f"/ai-audit usage {args}".strip(),
                            reason=f"only the playbook's admins may {READ_USAGE}")
        return
    now = services.clock.now()
    try:
        ask = usage_words.parse(args, now=now)
    except FilterError as exc:
        await ack(**error_message(f"{escape(str(exc))}. {USAGE_FILTERS}"))
        return
    await ack()
    scope = usage_scope(services, now)
    found = await in_session(services, lambda s: usage_views.summary(
        s, since=ask.since, until=ask.until, model=ask.model, user=ask.user, use_case=ask.use_case, **scope))
    await respond(**summary_message(found, tz=pb.timezone))


async def _admin_job(ack: Any, command: dict[str, Any], context: Any, *, word: str, what: str,
                     running: str) -> Any:
    """The audit job for an admin's `verify` or `checkpoint`, once acknowledged with `running`;
    None when the asker is refused (and that is recorded) or the job is not there."""
    services = context["services"]
    pb = services.playbook.current.playbook
    user = command["user_id"]
    if user not in pb.admins:
        await ack(**admins_only(pb.admins, what=what))
        await record_denial(services, await reader_of(services, user, resolve=False), asked=f"/ai-audit {word}",
                            reason=f"only the playbook's admins may {what}")
        return None
    job = services.extras.get("audit")
    if job is None:  # a process built without the audit job (it is built with the services)
        await ack(**error_message(f"`/ai-audit {word}` is not available in this process."))
        return None
    await ack(response_type="ephemeral", text=running)
    return job


async def verify(ack: Any, respond: Any, command: dict[str, Any], context: Any, **_: Any) -> None:
    job = await _admin_job(ack, command, context, word="verify", what="verify the audit log",
                           running="Verifying the audit log; the answer follows here when it is done.")
    if job is None:
        return
    report = await job.verify_now()
    await respond(**verify_answer(report.ok, report.summary, list(getattr(report, "warnings", ()))))


async def checkpoint(ack: Any, respond: Any, command: dict[str, Any], context: Any, **_: Any) -> None:
    job = await _admin_job(ack, command, context, word="checkpoint", what="write an audit log checkpoint",
                           running="Sealing the log and writing a checkpoint; it follows here when it is done.")
    if job is None:
        return
    written = await job.checkpoint_now(command["user_id"])
    if written is None:
        await respond(response_type="ephemeral", text="The audit log has no events yet: nothing to checkpoint.")
        return
    await respond(**checkpoint_answer(written.size, written.root_hash, written.note))


def register(app: AsyncApp) -> None:
    async def filters(word: str, _context: Any) -> Any:
        # `/ai-audit since:7d …`: a first word that is a filter starts the listing.
        return listing if ":" in word else None

    subcommands = {"": listing, "recent": listing, "verify": verify, "checkpoint": checkpoint, "usage": usage,
                   **{word: history for word in access.KINDS}}
    register_command(app, "/ai-audit", capability="the audit log", subcommands=subcommands,
                     fallback=filters)

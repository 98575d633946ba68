"""/ai-approve: ask for sign-off (modal or one line), and list what waits."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.approval_modals import new_request_modal
from blocks.approvals import request_summary_line
from blocks.help import error_message
from blocks.playbook import plain_answer
from blocks.text import channel, escape
from handlers.commands.router import register_command
from services import approvals, registry

# Slack escapes links in command text as <https://…> or <https://…|label>.
_LINK = re.compile(r"^<([^|>]+)(?:\|[^>]*)?>$")
_TOOL = re.compile(r"\(([^()]{1,100})\)\s*$")
_USE_CASE = re.compile(r"^(?:uc-|usecase:)(\d{1,9})$", re.IGNORECASE)
USAGE = escape("Usage: `/ai-approve <kind> [internal|external] <reference> <title> [(AI tool)] [UC-<id>]`, "
               "e.g. `/ai-approve code https://github.com/acme/app/pull/42 Refactor billing retries (Copilot)`")


def parse_inline(kind: str, args: str) -> dict[str, Any]:
    """The one-line form → fields, or ValueError with a sentence for the user."""
    words = args.split()
    use_case_id = None
    for word in list(words):
        named = _USE_CASE.match(word)
        if named:
            use_case_id = int(named.group(1))
            words.remove(word)
    audience = "internal"
    if words and words[0].lower() in ("internal", "external"):
        audience = words.pop(0).lower()
    if not words:
        raise ValueError(f"Missing the reference to sign off. {USAGE}")
    reference = words.pop(0)
    link = _LINK.match(reference)
    if link:
        reference = link.group(1)
    title = " ".join(words)
    ai_tool = None
    tool = _TOOL.search(title)
    if tool:
        ai_tool = tool.group(1).strip()
        title = title[: tool.start()].strip()
    if not title:
        raise ValueError(f"Missing a title after the reference. {USAGE}")
    return {"kind": kind, "audience": audience, "reference": reference, "title": title,
            "ai_tool": ai_tool, "use_case_id": use_case_id}


async def create(services: Any, *, fields: dict[str, Any], requester: str,
                 origin_channel: str | None, declared_uses: list[str] | None = None) -> Any:
    """Open a request; ApprovalInputError (nothing written) for bad input. A request the
    playbook refuses (PolicyRefusal) is audited before it is raised on."""
    loaded = services.playbook.current
    resolution = await services.directory.resolve(loaded.playbook)

    def write() -> Any:
        with services.db.session() as s:
            request = approvals.open_request(
                s, playbook=loaded, requester=requester, now=services.clock.now(),
                origin_channel=origin_channel, declared_uses=declared_uses or (),
                group_members=resolution.members, **fields)
            return approvals.request_view(s, request)

    try:
        return await services.db.run(write)
    except approvals.PolicyRefusal as refusal:
        def record() -> None:
            with services.db.session() as s:
                approvals.refuse_opening(s, requester=requester, now=services.clock.now(), kind=fields["kind"],
                                         audience=fields["audience"], refusal=refusal)

        await services.db.run(record)
        raise


async def open_form(ack: Any, client: Any, body: dict[str, Any], context: Any, **_: Any) -> None:
    await ack()
    services = context["services"]
    pb = services.playbook.current.playbook

    def load_use_cases() -> list[tuple[int, str]]:
        with services.db.session() as s:
            return registry.choices(s, "usecase", limit=101)

    use_cases = await services.db.run(load_use_cases)
    uses = [(u.id, u.text) for u in (*pb.allowed_uses, *pb.off_limits)]
    checklists = {}
    for kind in pb.approvals:
        items: list[str] = []
        for audience in ("internal", "external"):
            rule = pb.approval_rule(kind, audience)
            items += [i.id for i in rule.checklist if i.id not in items]
        checklists[kind] = items
    await client.views_open(trigger_id=body["trigger_id"], view=new_request_modal(
        kinds=list(pb.approvals), uses=uses, checklists=checklists,
        channel=body.get("channel_id"), use_cases=use_cases))


async def inline(ack: Any, respond: Any, command: dict[str, Any], args: str, context: Any,
                 word: str, **_: Any) -> None:
    try:
        fields = parse_inline(word, args)
    except ValueError as exc:
        await ack(**error_message(str(exc)))
        return
    await ack()
    try:
        view = await create(context["services"], fields=fields, requester=command["user_id"],
                            origin_channel=command.get("channel_id"))
    except approvals.ApprovalInputError as exc:
        await respond(**error_message(exc.message))
        return
    await respond(response_type="ephemeral",
                  text=f"Sign-off #{view['id']} requested in {channel(view['channel'])}: "
                  f"{escape(view['title'])}. Approvers are told.")


async def list_requests(ack: Any, respond: Any, command: dict[str, Any], context: Any,
                        **_: Any) -> None:
    await ack()
    services = context["services"]
    user = command["user_id"]
    resolution = await services.directory.resolve(services.playbook.current.playbook)

    def load() -> tuple[list[dict], list[dict]]:
        with services.db.session() as s:
            return (approvals.waiting_for(s, user=user, group_members=resolution.members,
                                          limit=40, offset=0),
                    approvals.requested_by(s, user=user, limit=40, offset=0))

    waiting, mine = await services.db.run(load)
    lines = ["Waiting for your sign-off:"] + [request_summary_line(v) for v in waiting or []]
    if not waiting:
        lines.append("  nothing")
    lines += ["", "Your requests:"] + [request_summary_line(v) for v in mine or []]
    if not mine:
        lines.append("  none")
    await respond(**plain_answer("\n".join(lines), title="Sign-off requests"))


def register(app: AsyncApp) -> None:
    register_command(app, "/ai-approve", capability="human sign-off",
                     subcommands={"": open_form, "list": list_requests},
                     fallback=inline_for_kinds)


async def inline_for_kinds(word: str, context: Any) -> Any:
    """The first word is a playbook kind: the inline form. Otherwise not ours."""
    if word in context["services"].playbook.current.playbook.approvals:
        return inline
    return None

"""What registry listeners share: who governs, whether named people are real, reading forms."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError

from blocks.text import plain
from bot.slack_answers import error_code
from handlers.deadlines import LOOKUP_BEFORE_ACK
from services import registry
from services.registry import fields

log = logging.getLogger(__name__)
T = TypeVar("T")
_ID = re.compile(r"^(?:#|uc-|v-)?(\d{1,9})$", re.IGNORECASE)


def parse_id(text: str) -> int | None:
    """`12`, `#12`, `UC-12` or `V-12` → 12."""
    match = _ID.match(text.strip())
    return int(match.group(1)) if match else None


async def authority(services: Any, user: str) -> registry.Authority:
    """The acting user with the playbook's admins and documentation approvers as governors."""
    pb = services.playbook.current.playbook
    governors = set(pb.admins)
    if pb.documentation.approvers:
        resolution = await services.directory.resolve(pb)
        for name in pb.documentation.approvers:
            governors.update(resolution.members.get(name, ()))
    return registry.Authority(user=user, governors=frozenset(governors))


async def in_session(services: Any, work: Callable[[Any], T]) -> T:
    """Run `work(session)` in one transaction, off the event loop."""
    def run() -> T:
        with services.db.session() as s:
            return work(s)

    return await services.db.run(run)


async def in_session_audited(services: Any, work: Callable[[Any], T], *, kind: str, record_id: int | None,
                             user: str, attempted: str) -> T:
    """`in_session(work)`; a refusal of who `user` is (NotAllowed) is also recorded in the audit
    log — in a transaction of its own, since the refused one rolled back — and raised on."""
    try:
        return await in_session(services, work)
    except registry.NotAllowed as exc:
        reason = exc.message
        await in_session(services, lambda s: registry.deny(s, kind, record_id, actor=user, attempted=attempted,
                                                           reason=reason, now=services.clock.now()))
        raise


async def check_people(client: Any, kind: str, raw: dict[str, Any]) -> dict[str, str]:
    """Errors for named people who are not active humans in this workspace (users.info).

    If Slack cannot be asked (rate limits, an outage), the names pass: the form's own user
    pickers only offer real people, and refusing a form because Slack is slow helps nobody.
    """
    named: list[tuple[fields.FieldSpec, str]] = []
    for spec in fields.FIELDS[kind]:
        if spec.kind not in (fields.USER, fields.USERS) or not raw.get(spec.name):
            continue
        users = raw[spec.name] if spec.kind == fields.USERS else [raw[spec.name]]
        named += [(spec, user) for user in users if isinstance(user, str)]
    # All at once: this runs before the form's ack, inside Slack's 3 seconds.
    people = list(dict.fromkeys(user for _, user in named))
    problems = dict(zip(people, await asyncio.gather(*(_person_problem(client, u) for u in people)), strict=True))
    errors: dict[str, str] = {}
    for spec, user in named:
        if problems[user] and spec.name not in errors:
            errors[spec.name] = f"{spec.label}: <@{user}> {problems[user]}."
    return errors


async def _person_problem(client: Any, user: str) -> str | None:
    try:
        # Before the form's ack: a slow Slack costs the check, never the ack.
        info = (await asyncio.wait_for(client.users_info(user=user), LOOKUP_BEFORE_ACK))["user"]
    except SlackApiError as exc:
        error = error_code(exc)  # Slack (or a proxy before it) may answer with no JSON
        if error == "user_not_found":
            return "is not a member of this workspace"
        log.warning("could not check user %s: %s", user, error)
        return None
    except Exception:
        log.warning("could not check user %s", user, exc_info=True)
        return None
    if not isinstance(info, dict):  # an answer without the user: as if Slack could not be asked
        log.warning("could not check user %s: users.info answered without a user", user)
        return None
    if info.get("deleted"):
        return "has left the workspace"
    if info.get("is_bot") or info.get("id") == "USLACKBOT":
        return "is a bot; name a person"
    return None


def form_values(view: dict[str, Any], kind: str) -> dict[str, Any]:
    """The submitted values of the record fields present in a form, keyed by field name."""
    state = view.get("state", {}).get("values", {})
    raw: dict[str, Any] = {}
    for spec in fields.FIELDS[kind]:
        if spec.name in state:
            # One element per input block; its action id is "value", or a search picker's.
            raw[spec.name] = element_value(next(iter(state[spec.name].values()), {}))
    return raw


def element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        return (element.get("selected_option") or {}).get("value")
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return [o.get("value") for o in element.get("selected_options") or []]
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "datepicker":
        return element.get("selected_date")
    return element.get("value")


def errors_for(view: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """`response_action: errors` for a form: each message on its field's block, or on the
    first block when the field is not on this form (a permission, a vanished record)."""
    blocks = [b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"]
    shown: dict[str, str] = {}
    for field, message in errors.items():
        block = field if field in blocks else (blocks[0] if blocks else field)
        shown.setdefault(block, plain(message)[:2000])  # form errors are plain text
    return {"response_action": "errors", "errors": shown}

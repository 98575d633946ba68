"""What goes on to Bolt from /slack/events: a body of a kind we handle, shaped as Slack sends it.

Bolt parses the body and reads ids out of it (user, team, channel, the first action, the
view's callback id) before any listener or error handler runs, and checks nothing: a list
where it expects an object, a view sent as a string or an empty `actions` raise there, and a
raise there is a 500 with a traceback. So the body is parsed here first, by Bolt's own rule
for what is JSON, and checked for every field Bolt and our listeners read. What fails gets a
400 saying what is wrong — Slack never sends such a body, so whoever did reads the reason —
except a slash command that names no user: its HTTP answer is what the person who typed it
sees, so it is an ephemeral explanation.

The checks are of shape only. Whether a button's value names a real request is the
listener's business (blocks/*: parse_*), answered to the person who pressed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Deeper than any payload Slack sends (rich text nests a handful of levels), shallow enough
# that nothing downstream that recurses (Bolt, deepcopy, pydantic) comes near its limit.
MAX_DEPTH = 48
NO_USER_ANSWER = {
    "response_type": "ephemeral",
    "text": "Slack did not say who ran this command, so Countersign did nothing. Try it again; "
            "if this keeps happening, tell your Slack admin.",
}


class Refusal(Exception):
    """A body that does not go on to Bolt, and what to answer instead."""

    def __init__(self, reason: str, *, status: int = 400, answer: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.answer = answer if answer is not None else {"error": reason}


@dataclass(frozen=True)
class Parsed:
    text: str  # the body as Bolt is given it
    body: dict[str, Any]
    form: bool  # form fields without a `payload`: a slash command (or Slack's ssl_check)


def parse(raw: bytes, content_type: str | None) -> Parsed:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal("the body is not UTF-8 text") from None
    if not text.strip():
        raise Refusal("the body is empty")
    # Bolt's rule (slack_bolt.request.internals.parse_body), so both read the same thing.
    if (content_type or "").split(";")[0] == "application/json" or text.startswith("{"):
        return Parsed(text, _object(_json(text, "the body"), "the body"), form=False)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" not in fields:
        return Parsed(text, fields, form=True)
    payload = _json(fields["payload"], "the payload field")
    return Parsed(text, _object(payload, "the payload field"), form=False)


def _json(text: str, what: str) -> Any:
    try:
        value = json.loads(text)
    except RecursionError:
        raise Refusal(f"{what} is JSON nested too deeply") from None
    except ValueError as exc:
        raise Refusal(f"{what} is not JSON ({getattr(exc, 'msg', exc)})") from None
    if _depth(value) > MAX_DEPTH:
        raise Refusal(f"{what} is JSON nested more than {MAX_DEPTH} levels deep")
    try:
        # JSON may escape half a UTF-16 pair (\ud800) where no text can: such a string would
        # fail every encode downstream (the database, the log), so it is refused here like a
        # body that is not UTF-8.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Refusal(f"{what} holds a lone UTF-16 surrogate (\\ud800–\\udfff), which is not text") from None
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        raise Refusal(f"{what} is a JSON {kind}, not an object")
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


# -- shapes ------------------------------------------------------------------------------
# Only the fields read downstream are declared; anything else Slack adds passes unchecked.


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class Ref(_Shape):
    """How Slack names a user, team, channel or enterprise in an object."""

    id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None


class Actor(Ref):
    id: str


class Authorization(_Shape):
    enterprise_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None


class Carrier(_Shape):
    """Where Bolt looks for who and where: the body, and what it recurses into from there."""

    user: str | Ref | None = None
    team: str | Ref | None = None
    enterprise: str | Ref | None = None
    channel: str | Ref | None = None
    user_id: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    enterprise_id: str | None = None
    user_team: str | None = None
    thread_ts: str | None = None
    text: str | None = None
    ts: str | None = None
    authorizations: list[Authorization] | None = None
    message: Carrier | None = None
    previous_message: Carrier | None = None
    item: Carrier | None = None
    assistant_thread: Carrier | None = None


class Option(_Shape):
    value: str


class Element(_Shape):
    """One input's answer in a view's or message's state (handlers/registry_context.element_value)."""

    type: str | None = None
    value: str | None = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None
    selected_user: str | None = None
    selected_users: list[str] | None = None
    selected_date: str | None = None


class State(_Shape):
    # Slack always sends `values` with a state, and listeners read view.state.values[...].
    values: dict[str, dict[str, Element]]


class Block(_Shape):
    type: str | None = None
    block_id: str | None = None


class View(_Shape):
    id: str | None = None
    type: str | None = None
    callback_id: str | None = None
    private_metadata: str | None = None
    team_id: str | None = None
    app_installed_team_id: str | None = None
    state: State | None = None
    blocks: list[Block] | None = None


class SubmittedView(View):
    id: str
    type: str  # Bolt reads body["view"]["type"] of every submission (is it a workflow step?)
    callback_id: str
    private_metadata: str = ""
    state: State

    @model_validator(mode="after")
    def _inputs_have_ids(self) -> SubmittedView:
        # Field errors are shown on an input block by its id.
        if any(b.type == "input" and not b.block_id for b in self.blocks or ()):
            raise ValueError("an input block has no block_id")
        return self


class Event(Carrier):
    type: str
    bot_id: str | None = None
    tab: str | None = None


class ResponseUrl(_Shape):
    response_url: str


class Body(Carrier):
    """Every body: the fields Bolt's middleware reads whatever the kind."""

    type: str | None = None
    response_url: str | None = None
    response_urls: list[ResponseUrl] | None = None
    trigger_id: str | None = None
    container: dict[str, Any] | None = None
    event: Event | None = None
    view: View | None = None
    # Bolt takes any body with a `command` key, even null, for a slash command.
    takes_command: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _objects_when_present(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # Bolt reads these as body.get(key, {}).get(…): present, they must be objects.
        for key in ("event", "view"):
            if key in data and not isinstance(data[key], dict):
                raise ValueError(f"{key} is present but not an object")
        if "command" in data and not cls.takes_command:
            raise ValueError("only a slash command has a command")
        return data


class SlashCommand(Body):
    takes_command = True
    command: str
    text: str = ""
    user_id: str


class Interactive(Body):
    user: Actor  # type: ignore[assignment]


class Action(_Shape):
    action_id: str
    block_id: str | None = None
    type: str | None = None
    value: str | None = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None


class BlockActions(Interactive):
    type: Literal["block_actions"]
    actions: list[Action] = Field(min_length=1)
    state: State | None = None


class ViewSubmission(Interactive):
    type: Literal["view_submission", "view_closed"]
    view: SubmittedView  # type: ignore[assignment]


class MessageShortcut(Interactive):
    type: Literal["message_action"]
    callback_id: str
    trigger_id: str
    response_url: str
    channel: Actor  # type: ignore[assignment]


class GlobalShortcut(Interactive):
    type: Literal["shortcut"]
    callback_id: str
    trigger_id: str


class BlockSuggestion(Interactive):
    type: Literal["block_suggestion"]
    action_id: str
    block_id: str | None = None
    value: str | None = None


class EventCallback(Body):
    type: Literal["event_callback"]
    event: Event  # type: ignore[assignment]
    event_id: str


class UrlVerification(Body):
    type: Literal["url_verification"]
    challenge: str


class RateLimited(Body):
    type: Literal["app_rate_limited"]


KINDS: dict[str, type[Body]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewSubmission,
    "message_action": MessageShortcut,
    "shortcut": GlobalShortcut,
    "block_suggestion": BlockSuggestion,
    "event_callback": EventCallback,
    "url_verification": UrlVerification,
    "app_rate_limited": RateLimited,
}


def check(parsed: Parsed) -> str:
    """The kind of a body fit to go on (a KINDS key, "command" or "ssl_check"); else Refusal."""
    body = parsed.body
    if parsed.form:
        if body.get("ssl_check") == "1" and "command" not in body:
            return "ssl_check"
        if "command" not in body:
            raise Refusal("the form is neither a slash command nor an interactive payload")
        if not body.get("user_id"):
            raise Refusal("the slash command names no user_id", status=200, answer=NO_USER_ANSWER)
        _validate(SlashCommand, body, "slash command")
        return "command"
    kind = body.get("type")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise Refusal("the body's type is not one of the Slack requests Countersign takes "
                      f"({', '.join(sorted(KINDS))})")
    _validate(model, body, kind)
    return kind


def _validate(model: type[Body], body: dict[str, Any], kind: str) -> None:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        message = first["msg"].removeprefix("Value error, ")
        raise Refusal(f"not the shape of a Slack {kind}: {where}: {message}") from None

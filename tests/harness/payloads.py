"""Payloads shaped like the ones Slack sends an app, for HTTP requests and Socket Mode envelopes.

Shapes follow Slack's documentation and the captured payloads in Bolt for Python's own tests.
Team, app and bot identities match FakeSlack's workspace.
"""

import itertools
import secrets
import time

from tests.harness.workspace import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

# The legacy verification token: Slack still sends it, Bolt ignores it in favour of signatures.
VERIFICATION_TOKEN = "verification_token"

_seq = itertools.count(1)


def new_trigger_id() -> str:
    return f"{int(time.time())}.{next(_seq)}.{secrets.token_hex(8)}"


def new_event_id() -> str:
    return f"Ev{secrets.token_hex(5).upper()}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _team() -> dict:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def _user(user_id: str) -> dict:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _common(kind: str, user_id: str, trigger_id: str | None) -> dict:
    return {
        "type": kind,
        "token": VERIFICATION_TOKEN,
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "trigger_id": trigger_id or new_trigger_id(),
        "is_enterprise_install": False,
        "enterprise": None,
    }


def slash_command(command: str, text: str = "", *, user_id: str = "U0USER", user_name: str | None = None,
                  channel_id: str = "C0CHAN", channel_name: str = "general", team_id: str = TEAM_ID,
                  trigger_id: str | None = None, response_url: str | None = None) -> dict[str, str]:
    """Slash command fields: form-encoded over HTTP, a flat dict in Socket Mode. All strings."""
    trigger_id = trigger_id or new_trigger_id()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or f"https://hooks.slack.com/commands/{team_id}/1/{trigger_id}",
        "trigger_id": trigger_id,
    }


def _find_element(blocks: list[dict], action_id: str) -> tuple[str | None, dict | None]:
    """(block_id, element) of the interactive element with this action_id, wherever it sits."""
    for block in blocks:
        candidates = [block.get("accessory"), block.get("element"), *block.get("elements", [])]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


def block_actions(action_id: str, value: str | None = None, *, user_id: str = "U0USER",
                  channel_id: str = "C0CHAN", message_ts: str | None = None, block_id: str | None = None,
                  trigger_id: str | None = None, container: dict | None = None, view: dict | None = None,
                  message: dict | None = None, response_url: str | None = None,
                  state: dict | None = None) -> dict:
    """A click on an interactive element, in a message (default) or in `view`.

    Given the message (or view) that holds the element, block_id, value and element type
    default to what is really there, as they would when a user clicks the bot's button.
    Only clicks in messages carry a response_url.
    """
    surface_blocks = (view or message or {}).get("blocks", [])
    found_block_id, element = _find_element(surface_blocks, action_id)
    element = element or {"type": "button", "text": {"type": "plain_text", "text": action_id, "emoji": True}}
    action = {
        # What a click reports of a button; other element types report their selection instead.
        **{k: element[k] for k in ("type", "text", "value", "style") if k in element},
        "action_id": action_id,
        # Slack fills in a random block_id when the app set none.
        "block_id": block_id or found_block_id or secrets.token_hex(2),
        "action_ts": _action_ts(),
    }
    if value is not None:
        action["value"] = value
    payload = {**_common("block_actions", user_id, trigger_id), "actions": [action]}
    if view is not None:
        payload["container"] = container or {"type": "view", "view_id": view["id"]}
        payload["view"] = view
        return payload
    message = message or {"type": "message", "ts": message_ts or _action_ts(), "user": BOT_USER_ID,
                          "bot_id": BOT_ID, "text": "", "blocks": []}
    message_ts = message_ts or message["ts"]
    payload.update(
        container=container or {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                                "is_ephemeral": False},
        channel={"id": channel_id, "name": channel_id.lower()},
        message=message,
        state={"values": state or {}},
        response_url=response_url or f"https://hooks.slack.com/actions/{TEAM_ID}/1/{secrets.token_hex(8)}",
    )
    return payload


def block_suggestion(action_id: str, value: str, *, block_id: str, view: dict, user_id: str = "U0USER") -> dict:
    """Someone typed `value` into an external select of `view`: Slack asks for options."""
    payload = _common("block_suggestion", user_id, None)
    payload.pop("trigger_id", None)  # an options request carries none
    return {**payload, "action_id": action_id, "block_id": block_id, "value": value,
            "container": {"type": "view", "view_id": view["id"]}, "view": view}


def view_submission(callback_id: str, values: dict, *, user_id: str = "U0USER", private_metadata: str = "",
                    view_id: str = "V0VIEW", trigger_id: str | None = None, view: dict | None = None) -> dict:
    """A modal submitted. `values` is view.state.values as Slack sends it:
    {block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}.
    `view`, if given, is the view as the app opened it (blocks, title, hash...)."""
    submitted = {
        "type": "modal",
        "blocks": [],
        "title": {"type": "plain_text", "text": "Countersign"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "external_id": "",
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        **(view or {}),
        "id": view_id,
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "state": {"values": values},
    }
    return {**_common("view_submission", user_id, trigger_id), "view": submitted, "response_urls": []}


def message_shortcut(callback_id: str, message: dict, *, channel_id: str = "C0CHAN", user_id: str = "U0USER",
                     trigger_id: str | None = None, response_url: str | None = None) -> dict:
    """A message shortcut ("message_action") run on `message`."""
    return {
        **_common("message_action", user_id, trigger_id),
        "action_ts": _action_ts(),
        "callback_id": callback_id,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "message_ts": message["ts"],
        "message": message,
        "response_url": response_url or f"https://hooks.slack.com/app/{TEAM_ID}/1/{secrets.token_hex(8)}",
    }


def event_callback(event: dict, *, event_id: str | None = None, event_time: int | None = None) -> dict:
    """An Events API delivery wrapping `event`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time or int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_hex(8)}",
    }


def url_verification(challenge: str) -> dict:
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}

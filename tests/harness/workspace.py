"""The Slack workspace behind FakeSlack: what each Web API method does and answers.

Synchronous and not thread-safe on purpose: FakeSlack holds its lock around every use.
Errors are the codes Slack documents for each method, so a bot's error handling is
exercised against the same strings it will see in production.
"""

import copy
import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

TEAM_ID = "T0001"
TEAM_DOMAIN = "countersign-test"
APP_ID = "A0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"

_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")


class SlackError(Exception):
    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


def _flag(value: object) -> bool:
    # slack_sdk sends booleans as "1"/"0" in query strings and forms, as true/false in JSON.
    return str(value).lower() in ("1", "true")


def _user_ids(value: object) -> list[str]:
    # Forms carry "U1,U2"; JSON bodies may carry a list.
    if isinstance(value, list):
        return [str(u) for u in value]
    return [u.strip() for u in str(value or "").split(",") if u.strip()]


def _require(args: dict, name: str, error: str) -> str:
    value = args.get(name)
    if value in (None, ""):
        raise SlackError(error)
    return value


class Workspace:
    def __init__(self) -> None:
        # Sequences survive reset(): a ts or id a bot stored before a reset must never name
        # a different, newer object after it.
        self._last_ts_micros = 0
        self._id_seq = itertools.count(1)
        # Slack's wall clock, in seconds since the epoch (see FakeSlack.follow_clock).
        self.now: Callable[[], float] = time.time
        self.socket_url: str | None = None
        self.users: dict[str, dict] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.missing_channels: set[str] = set()
        self.reset()
        self._handlers: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "bots.info": self._bots_info,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "conversations.create": self._conversations_create,
            "conversations.invite": self._conversations_invite,
            "conversations.setTopic": self._conversations_set_topic,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "pins.add": self._pins_add,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
        }

    def reset(self) -> None:
        """Forget what the bot did; keep the seeded directory (users, usergroups, missing channels)."""
        self.messages: dict[str, list[dict]] = {}
        self.channels: dict[str, dict] = {}
        self.members: dict[str, set[str]] = {}
        self.views: dict[str, dict] = {}
        self.home_views: dict[str, str] = {}

    def handle(self, method: str, args: dict, token: str | None) -> dict:
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith("xapp-" if method == "apps.connections.open" else "xoxb-"):
            return {"ok": False, "error": "invalid_auth"}
        try:
            return {"ok": True, **handler(args)}
        except SlackError as e:
            return {"ok": False, "error": e.error}

    # -- seeding -------------------------------------------------------------------------

    def add_user(self, user_id: str, *, name: str, real_name: str, tz: str, is_bot: bool, deleted: bool,
                 email: str) -> None:
        offset = ZoneInfo(tz).utcoffset(datetime.now())
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_admin": False,
            "is_app_user": False,
            "tz": tz,
            "tz_label": datetime.now(ZoneInfo(tz)).tzname(),
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "profile": {"real_name": real_name, "display_name": name, "email": email, "team": TEAM_ID},
        }

    # -- shared helpers ------------------------------------------------------------------

    def _new_ts(self) -> str:
        # Wall-clock time, as Slack's: a bot may compare a ts with when it sent the call.
        # Strictly increasing even for posts within the same microsecond.
        micros = max(int(self.now() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_seq):08d}"

    @staticmethod
    def dm_channel_id(user_ids: list[str]) -> str:
        # Derived, not allocated, so a DM id stays stable across resets and fake restarts.
        if len(user_ids) == 1:
            return "D" + user_ids[0][1:]
        return "G" + hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()[:10].upper()

    def resolve_channel(self, channel: str) -> str:
        """Posting to a user ID posts to the DM with that user, as Slack does."""
        return self.dm_channel_id([channel]) if channel[:1] in ("U", "W") else channel

    def _channel(self, args: dict, name: str = "channel") -> str:
        channel = self.resolve_channel(_require(args, name, "channel_not_found"))
        if channel in self.missing_channels:
            raise SlackError("channel_not_found")
        return channel

    def _channel_info(self, channel: str) -> dict:
        # Channels the bot did not create are made up on first sight: the fake believes
        # every channel exists unless registered as missing.
        if channel not in self.channels:
            self.channels[channel] = {
                "id": channel,
                "name": channel.lower(),
                "is_channel": channel.startswith("C"),
                "is_im": channel.startswith("D"),
                "is_mpim": channel.startswith("G"),
                "is_private": not channel.startswith("C"),
                "is_archived": False,
                "is_member": True,
                "created": int(time.time()),
                "creator": BOT_USER_ID,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        return self.channels[channel]

    def _find_message(self, channel: str, ts: str | None) -> dict:
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    @staticmethod
    def public_message(message: dict, with_metadata: bool = True) -> dict:
        """A stored message as Slack shows it: without the fake's bookkeeping and empty fields."""
        hidden = {"updated_count", "pinned"} | (set() if with_metadata else {"metadata"})
        return {k: copy.deepcopy(v) for k, v in message.items() if k not in hidden and v is not None}

    def _view(self, definition: dict, view_id: str, previous_view_id: str | None = None) -> dict:
        return {
            **copy.deepcopy(definition),
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "private_metadata": definition.get("private_metadata", ""),
            "callback_id": definition.get("callback_id", ""),
            "external_id": definition.get("external_id", ""),
            "root_view_id": view_id,
            "previous_view_id": previous_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    # -- methods -------------------------------------------------------------------------

    def _auth_test(self, args: dict) -> dict:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Countersign Test",
            "user": "countersign",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _bots_info(self, args: dict) -> dict:
        if args.get("bot") != BOT_ID:
            raise SlackError("bot_not_found")
        return {"bot": {"id": BOT_ID, "deleted": False, "name": "countersign", "updated": 1700000000,
                        "app_id": APP_ID, "user_id": BOT_USER_ID,
                        "icons": {"image_36": "https://a.slack-edge.com/36.png",
                                  "image_48": "https://a.slack-edge.com/48.png",
                                  "image_72": "https://a.slack-edge.com/72.png"}}}

    def _apps_connections_open(self, args: dict) -> dict:
        return {"url": self.socket_url}

    def _chat_post_message(self, args: dict) -> dict:
        channel = self._channel(args)
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        message = {
            "type": "message",
            "ts": self._new_ts(),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text", ""),
            "blocks": args.get("blocks") or [],
            "metadata": args.get("metadata"),
            "thread_ts": args.get("thread_ts"),
            "updated_count": 0,
            "pinned": False,
        }
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": self.public_message(message)}

    def _chat_update(self, args: dict) -> dict:
        channel = self._channel(args)
        message = self._find_message(channel, args.get("ts"))
        for field in ("text", "blocks", "metadata"):
            if field in args:
                message[field] = args[field]
        message["updated_count"] += 1
        return {"channel": channel, "ts": message["ts"], "text": message["text"],
                "message": self.public_message(message)}

    def _chat_delete(self, args: dict) -> dict:
        channel = self._channel(args)
        message = self._find_message(channel, args.get("ts"))
        self.messages[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

    def _chat_post_ephemeral(self, args: dict) -> dict:
        self._channel(args)
        _require(args, "user", "user_not_in_channel")
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        return {"message_ts": self._new_ts()}

    def _chat_get_permalink(self, args: dict) -> dict:
        channel = self._channel(args)
        message = self._find_message(channel, args.get("message_ts"))
        return {"channel": channel,
                "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{message['ts'].replace('.', '')}"}

    def _views_open(self, args: dict) -> dict:
        _require(args, "trigger_id", "invalid_trigger_id")
        view = self._view(_require(args, "view", "invalid_arguments"), self._new_id("V"))
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _views_update(self, args: dict) -> dict:
        if args.get("view_id"):
            old = self.views.get(args["view_id"])
        else:
            external_id = _require(args, "external_id", "not_found")
            old = next((v for v in self.views.values() if v["external_id"] == external_id), None)
        if old is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        view = self._view(_require(args, "view", "invalid_arguments"), old["id"], old["previous_view_id"])
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, args: dict) -> dict:
        user_id = _require(args, "user_id", "user_not_found")
        definition = _require(args, "view", "invalid_arguments")
        if definition.get("type") != "home":
            raise SlackError("invalid_arguments")
        view = self._view(definition, self.home_views.get(user_id) or self._new_id("V"))
        self.home_views[user_id] = view["id"]
        self.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}

    def _conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            return {"channel": {"id": self._channel(args)}}
        users = _user_ids(args.get("users"))
        if not users:
            raise SlackError("users_list_not_supplied")
        return {"channel": {"id": self.dm_channel_id(users)}}

    def _conversations_create(self, args: dict) -> dict:
        name = args.get("name") or ""
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not _CHANNEL_NAME.fullmatch(name):
            raise SlackError("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            raise SlackError("name_taken")
        channel = self._channel_info(self._new_id("C"))
        channel.update(name=name, is_channel=True, is_private=_flag(args.get("is_private", False)))
        self.members[channel["id"]] = {BOT_USER_ID}
        return {"channel": copy.deepcopy(channel)}

    def _conversations_invite(self, args: dict) -> dict:
        channel = self._channel(args)
        users = _user_ids(args.get("users"))
        if not users:
            raise SlackError("no_user")
        if BOT_USER_ID in users:
            raise SlackError("cant_invite_self")
        members = self.members.setdefault(channel, {BOT_USER_ID})
        if members & set(users):
            raise SlackError("already_in_channel")
        members.update(users)
        return {"channel": copy.deepcopy(self._channel_info(channel))}

    def _conversations_set_topic(self, args: dict) -> dict:
        info = self._channel_info(self._channel(args))
        topic = args.get("topic", "")
        if len(topic) > 250:
            raise SlackError("too_long")
        info["topic"] = {"value": topic, "creator": BOT_USER_ID, "last_set": int(time.time())}
        return {"channel": copy.deepcopy(info)}

    def _conversations_info(self, args: dict) -> dict:
        return {"channel": copy.deepcopy(self._channel_info(self._channel(args)))}

    def _conversations_history(self, args: dict) -> dict:
        channel = self._channel(args)
        inclusive = _flag(args.get("inclusive", False))
        oldest = Decimal(args.get("oldest") or "0")
        latest = Decimal(args["latest"]) if args.get("latest") else None
        limit = int(args.get("limit") or 100)

        def in_range(ts: Decimal) -> bool:
            above = ts >= oldest if inclusive else ts > oldest
            below = latest is None or (ts <= latest if inclusive else ts < latest)
            return above and below

        # History lists thread parents only; replies live in conversations.replies.
        matching = [
            m for m in reversed(self.messages.get(channel, []))
            if m["thread_ts"] in (None, m["ts"]) and in_range(Decimal(m["ts"]))
        ]
        with_metadata = _flag(args.get("include_all_metadata", False))
        return {
            "messages": [self.public_message(m, with_metadata) for m in matching[:limit]],
            "has_more": len(matching) > limit,
            "pin_count": sum(m["pinned"] for m in self.messages.get(channel, [])),
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, args: dict) -> dict:
        channel = self._channel(args)
        parent_ts = args.get("ts")
        thread = [m for m in self.messages.get(channel, [])
                  if m["ts"] == parent_ts or m["thread_ts"] == parent_ts]
        if not thread:
            raise SlackError("thread_not_found")
        oldest = Decimal(args.get("oldest") or "0")
        limit = int(args.get("limit") or 100)
        with_metadata = _flag(args.get("include_all_metadata", False))
        # The parent always comes first, then replies oldest first, as Slack answers.
        replies = [m for m in thread[1:] if Decimal(m["ts"]) > oldest]
        chosen = [thread[0], *replies][:limit]
        return {
            "messages": [self.public_message(m, with_metadata) for m in chosen],
            "has_more": len(replies) + 1 > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _pins_add(self, args: dict) -> dict:
        channel = self._channel(args)
        message = self._find_message(channel, _require(args, "timestamp", "no_item_specified"))
        if message["pinned"]:
            raise SlackError("already_pinned")
        message["pinned"] = True
        return {}

    def _users_info(self, args: dict) -> dict:
        user = self.users.get(args.get("user", ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, args: dict) -> dict:
        email = _require(args, "email", "users_not_found")
        for user in self.users.values():
            if user["profile"]["email"] == email and not user["deleted"]:
                return {"user": copy.deepcopy(user)}
        raise SlackError("users_not_found")

    def _usergroups_users_list(self, args: dict) -> dict:
        members = self.usergroups.get(args.get("usergroup", ""))
        if members is None:
            raise SlackError("no_such_subteam")
        return {"users": list(members)}

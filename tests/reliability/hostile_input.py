"""What a hostile person, or a broken client, sends: text, values and payload mutations as
hypothesis strategies, and the Shots (tests/reliability/hostile_bot.py) built from them.

The product's own names come from the code — commands from manifest.yml and blocks/help, the
action ids, view callbacks, shortcuts and option pickers from handlers.listened_to() — so a
new listener is fuzzed without anyone listing it here.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from typing import Any
from urllib.parse import urlencode

import yaml
from hypothesis import strategies as st

import handlers
from blocks.approvals import CHECKLIST
from blocks.help import BY_NAME
from tests.harness import payloads
from tests.harness.fake_slack import FakeSlack
from tests.harness.paths import REPO_ROOT
from tests.harness.server import EXAMPLE_PLAYBOOK
from tests.reliability.hostile_bot import Shot
from tests.reliability.markup import TYPED

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

MANIFEST = yaml.safe_load((REPO_ROOT / "manifest.yml").read_text())
PLAYBOOK = yaml.safe_load(EXAMPLE_PLAYBOOK.read_text())
CATALOGUE = handlers.listened_to().names
COMMANDS = tuple(c["command"] for c in MANIFEST["features"]["slash_commands"])


def _instances(constraints: tuple) -> tuple[str, ...]:
    """Names a listener takes: each string, and for a pattern a few names it matches."""
    names: list[str] = []
    for c in constraints:
        if isinstance(c, str):
            names.append(c)
            continue
        stem = c.pattern.removeprefix("^").split("\\")[0].split("(")[0].rstrip("$")
        if "\\d" in c.pattern:
            names += [f"{stem}0", f"{stem}1", f"{stem}7", f"{stem}99999999999999999999"]
        else:
            names += [stem, f"{stem}approvals", f"{stem}<!channel>", f"{stem}\u202e"]
    return tuple(names)


ACTION_IDS = _instances(CATALOGUE.get("action", ()))
CALLBACK_IDS = _instances(CATALOGUE.get("view", ()))
SHORTCUTS = _instances(CATALOGUE.get("shortcut", ()))
OPTION_PICKERS = _instances(CATALOGUE.get("options", ()))
EVENT_TYPES = _instances(CATALOGUE.get("event", ()))
UNKNOWN_NAMES = ("nope", "", "approval_approve ", "APPROVAL_APPROVE", "approval_approve\x00",
                 "<!channel>", "a" * 300)

# -- text -------------------------------------------------------------------------------------

UNICODE = (
    "\u202e", "abc\u202edcba", "\u2066\u202d", "\u200b", "\ufeff", "\u200d", "\u2060",
    "e\u0301\u0302\u0303\u0304", "Z" + "\u0336" * 60,
    "\ud800", "\udfff", "a\ud83db",  # lone surrogates: JSON \\ud800 escapes, WTF-8 in forms
    "\x00", "a\x00b", "\x07\x1b[31m", "\r\n", "\t", "\u2028\u2029", "\x85",
    "👩‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "\U0010ffff", "\ufffd", "مرحبا بالعالم", "ｆｕｌｌ", "İı", "ß",
)
SLACKISH = (
    "*bold*", "_it_", "~s~", "`code`", "```block```", "&amp;", "&lt;!channel&gt;", "&", "<", ">",
    "<#C1|x>", "<!date^0^{date}|x>", ":skull:", "%s%n", "{0}", "${x}", "'; DROP TABLE timer;--",
    "\\", '"', "|", ":", "::", "0:0", "1:1", "1:1:1", "https://", "javascript:alert(1)",
)
NUMBERS = (
    "0", "1", "2", "-1", "007", "2147483647", "2147483648", "99999999999999999999", "1e9", "0x10",
    "1.5", "NaN", "inf", "١", "１", " 1", "1_0", "+1",
)
# Slack's limits: 75 (button text), 150 (plain-text objects, titles), 2000 (button value),
# 3000 (section text, command text here), and beyond each.
SIZES = (75, 76, 150, 151, 2000, 2001, 3000, 3001, 4000, 12000)

ATOMS = TYPED + UNICODE + SLACKISH + NUMBERS


def filled(size: int, unit: str) -> str:
    return (unit * (size // max(1, len(unit)) + 1))[:size]


atom = st.one_of(st.sampled_from(ATOMS), st.text(max_size=12))
words = st.lists(atom, min_size=1, max_size=6).map(" ".join)
big = st.builds(filled, st.sampled_from(SIZES), st.sampled_from(("x", "<!channel>", "é", "👩‍👩‍👧‍👦",
                                                                   "\u202e", "<@U1> ", "&<>")))
hostile_text = st.one_of(words, words, big)

KEYS = ("id", "type", "value", "text", "user", "action_id", "block_id", "selected_option",
        "callback_id", "private_metadata", "values", "state", "view", "channel", "ts")
scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                   st.floats(), hostile_text)
garbage = st.recursive(scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), kids, max_size=3)),
    max_leaves=6)
# A value where a string of digits or "id:id" is expected.
id_like = st.one_of(st.sampled_from(NUMBERS),
                    st.lists(st.sampled_from(NUMBERS + ("", "x")), min_size=2, max_size=4).map(":".join))
button_value = st.one_of(id_like, hostile_text, st.builds(filled, st.sampled_from(SIZES), st.just("9")))

# -- who and where ----------------------------------------------------------------------------

ADMIN = PLAYBOOK["admins"][0]
REVIEWER = PLAYBOOK["groups"]["code-reviewers"]["members"][0]
LEAD = PLAYBOOK["groups"]["eng-leads"]["members"][0]
SECURITY = PLAYBOOK["groups"]["security"]["members"][0]
REQUESTER = "U0USER"
PEOPLE = (REQUESTER, ADMIN, REVIEWER, LEAD, SECURITY, "U0GROUP1A", "U0OUTSIDER")
# Never "U1": that id is the typed mention the markup scan looks for.
ODD_USERS = ("W0ENTERPRISE", "USLACKBOT", "u0lower", "U" + "9" * 40, "U0\u202eX", "<!channel>", " ")
actor = st.one_of(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE), st.sampled_from(ODD_USERS))
CHANNELS = ("C0CHAN", PLAYBOOK["channels"]["approvals"], PLAYBOOK["channels"]["governance"],
            "D0DIRECT", "G0PRIVATE")
channel = st.one_of(st.sampled_from(CHANNELS), st.sampled_from(("", "C" * 300, "<#C1>", "C0\x00")))


def seed_people(fake: FakeSlack) -> None:
    """The people the fuzz acts as exist in Slack (an odd id is a user Slack does not know)."""
    for user in PEOPLE:
        fake.add_user(user)


# -- vocabulary of each command ---------------------------------------------------------------


def _vocabulary(command: str) -> tuple[str, ...]:
    hint = next(c.get("usage_hint", "") for c in MANIFEST["features"]["slash_commands"]
                if c["command"] == command)
    found = set(re.findall(r"[a-z][a-z0-9-]*", hint)) | {w for w in BY_NAME[command].words if w}
    found |= set(PLAYBOOK["approvals"]) | set(PLAYBOOK["escalation"]["severities"])
    found |= {"internal", "external", "UC-1", "V-1", "1", "2", "<@U04HQ2Z8K1M>", "help", "ai-primary",
              "2026-01-01", "2026-01-01T09:00", "tomorrow", "https://github.com/acme/app/pull/1"}
    return tuple(sorted(found))


VOCABULARY = {command: _vocabulary(command) for command in COMMANDS}


@st.composite
def command_text(draw: Any, command: str) -> str:
    """A sub-command and arguments as a person might type them, hostile in every slot."""
    vocab = VOCABULARY.get(command, ("help",))
    parts = draw(st.lists(st.one_of(st.sampled_from(vocab), st.sampled_from(vocab), atom),
                          min_size=0, max_size=7))
    text = " ".join(parts)
    if draw(st.booleans()):
        text += " " + draw(hostile_text)
    return text


# -- shots ------------------------------------------------------------------------------------


def unique_key(value: Any) -> Any:
    """A hostile trigger_id or event_id that no other example shares. These are a delivery's
    key (kept to 128 characters): the same key twice is Slack retrying, rightly not answered
    again — so the part that differs comes first."""
    return f"{secrets.token_hex(6)} {value}" if isinstance(value, str) and value else value


def form(fields: dict[str, str] | list[tuple[str, str]]) -> bytes:
    # A lone surrogate cannot be UTF-8: sent as the WTF-8 bytes a broken client would produce.
    return urlencode(fields, errors="surrogatepass").encode()


def as_json(value: Any) -> str:
    # Python's json writes a lone surrogate as a \\ud800 escape, as a JavaScript client would.
    return json.dumps(value)


def interactive_body(payload: Any) -> bytes:
    return form({"payload": as_json(payload)})


@st.composite
def slash_command(draw: Any, fake: FakeSlack) -> Shot:
    command = draw(st.one_of(st.sampled_from(COMMANDS), st.sampled_from(COMMANDS),
                             st.sampled_from(("/ai-nope", "/AI-APPROVE", "", "/ai-approve\x00"))))
    text = draw(st.one_of(command_text(command), hostile_text))
    user = draw(actor)
    trigger_id = payloads.new_trigger_id()
    fields: dict[str, Any] = payloads.slash_command(
        command, text, user_id=user, channel_id=draw(channel), trigger_id=trigger_id,
        response_url=fake.response_url(trigger_id))
    notes = []
    alterable = sorted(k for k in fields if k != "response_url")  # see COMMON_PATHS
    for key in draw(st.lists(st.sampled_from(alterable), max_size=3, unique=True)):
        how = draw(st.sampled_from(("drop", "text", "empty")))
        notes.append(f"{how} {key}")
        if how == "drop":
            del fields[key]
        else:
            fields[key] = draw(hostile_text) if how == "text" else ""
            if key == "trigger_id":
                fields[key] = unique_key(fields[key])
    items = list(fields.items())
    if draw(st.booleans()):
        # A field given twice: which one counts must not depend on luck.
        key = draw(st.sampled_from(alterable or ["text"]))
        value = draw(hostile_text)
        items.append((key, unique_key(value) if key == "trigger_id" else value))
        notes.append("duplicate field")
    has_user = bool(fields.get("user_id"))
    return Shot("command", form(items), FORM, trigger_id=trigger_id,
                tell_user=has_user and "command" in fields,
                must_refuse=not has_user, note=f"{command} {', '.join(notes)}")


# The response_url is never altered: Slack writes it and signs it, no person can change it, and an
# unreachable one is the slow-DNS tests' business (tests/e2e/test_slow_dns.py).
COMMON_PATHS = [("type",), ("user",), ("user", "id"), ("team",), ("team", "id"), ("trigger_id",),
                ("api_app_id",), ("enterprise",), ("is_enterprise_install",), ("token",)]


def _reaches_user(payload: dict, response_url: str | None) -> bool:
    user = payload.get("user")
    return (isinstance(user, dict) and isinstance(user.get("id"), str) and bool(user["id"])
            and response_url is not None and payload.get("response_url") == response_url)


def _set(payload: Any, path: tuple, value: Any, *, drop: bool) -> bool:
    parent = payload
    for key in path[:-1]:
        if isinstance(parent, dict):
            parent = parent.get(key)
        elif isinstance(parent, list) and isinstance(key, int) and key < len(parent):
            parent = parent[key]
        else:
            return False
    last = path[-1]
    if isinstance(parent, dict):
        if drop:
            parent.pop(last, None)
        else:
            parent[last] = value
        return True
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if drop:
            parent.pop(last)
        else:
            parent[last] = value
        return True
    return False


def mutate(draw: Any, payload: Any, paths: list[tuple], notes: list[str], max_size: int = 3) -> None:
    """Delete, or replace with garbage or hostile text, up to `max_size` of these paths."""
    for path in draw(st.lists(st.sampled_from(paths), max_size=max_size, unique=True)):
        how = draw(st.sampled_from(("drop", "garbage", "text")))
        value = None if how == "drop" else draw(garbage if how == "garbage" else hostile_text)
        if path[-1] in ("trigger_id", "event_id"):
            value = unique_key(value)
        if _set(payload, path, value, drop=how == "drop"):
            notes.append(f"{how} {'.'.join(map(str, path))}")


# -- the world the fuzz clicks in: real messages and forms the bot produced -----------------------


class World:
    """Messages with the bot's buttons and the forms it opened, harvested from the fake after
    seeding, so clicks and submissions can carry the real ids, block ids and metadata."""

    def __init__(self, fake: FakeSlack) -> None:
        channels = {c.args.get("channel") for c in fake.calls
                    if c.method in ("chat.postMessage", "chat.update") and isinstance(c.args.get("channel"), str)}
        self.messages: dict[str, list[tuple[str, dict]]] = {}
        for ch in sorted(channels):
            for message in fake.messages(ch):
                for action_id in _action_ids(message.get("blocks") or []):
                    self.messages.setdefault(action_id, []).append((ch, message))
        for n, (_, answer) in enumerate(fake.responses):  # ephemeral answers carry buttons too
            ephemeral = {"type": "message", "ts": f"1700000000.{n:06d}", "text": answer.get("text", ""),
                         "blocks": answer.get("blocks") or []}
            for action_id in _action_ids(ephemeral["blocks"]):
                self.messages.setdefault(action_id, []).append(("C0CHAN", ephemeral))
        with fake._lock:  # the fake's own store of every view the bot opened or published
            stored = copy.deepcopy(list(fake._workspace.views.values()))
        self.views: dict[str, list[dict]] = {}
        self.home: list[dict] = []
        for view in stored:
            if view.get("type") == "home":
                self.home.append(view)
            elif view.get("callback_id"):
                self.views.setdefault(view["callback_id"], []).append(view)
        self.pickers = {a: [v for vs in self.views.values() for v in vs if a in _action_ids(v.get("blocks") or [])]
                        for a in OPTION_PICKERS}

    def summary(self) -> str:
        return (f"buttons of {sorted(self.messages)}; forms {sorted(self.views)}; "
                f"{len(self.home)} home view(s)")


def _action_ids(blocks: list) -> set[str]:
    found = set()
    for block in blocks:
        if not isinstance(block, dict):
            continue
        for element in [block.get("accessory"), block.get("element"), *(block.get("elements") or [])]:
            if isinstance(element, dict) and element.get("action_id"):
                found.add(element["action_id"])
    return found


def _inputs(view: dict) -> list[tuple[str, str, str]]:
    """(block_id, action_id, element type) of every input in a form."""
    found = []
    for block in view.get("blocks") or []:
        element = block.get("element") if isinstance(block, dict) else None
        if block.get("type") == "input" and isinstance(element, dict):
            found.append((block.get("block_id", ""), element.get("action_id", ""), element.get("type", "")))
    return found


date_text = st.one_of(st.sampled_from(("2026-02-30", "0000-00-00", "9999-12-31", "2026-13-01", "1970-01-01",
                                       "2026-01-01T00:00", "")), hostile_text)
option = st.builds(lambda v: {"text": {"type": "plain_text", "text": "x"}, "value": v},
                   st.one_of(hostile_text, st.sampled_from(("yes", "no", "high", "prohibited", "sev1", "internal"))))


@st.composite
def answer_for(draw: Any, element_type: str) -> Any:
    """An input's value in view.state as Slack reports it, hostile, or the wrong shape."""
    if draw(st.integers(0, 5)) == 0:
        return draw(garbage)
    if element_type in ("static_select", "radio_buttons", "external_select"):
        return {"type": element_type, "selected_option": draw(st.one_of(st.none(), option, garbage))}
    if element_type in ("multi_static_select", "checkboxes", "multi_external_select"):
        return {"type": element_type, "selected_options": draw(st.lists(option, max_size=4))}
    if element_type == "users_select":
        return {"type": element_type, "selected_user": draw(st.one_of(actor, hostile_text, st.none()))}
    if element_type == "multi_users_select":
        return {"type": element_type, "selected_users": draw(st.lists(st.one_of(actor, hostile_text), max_size=4))}
    if element_type == "datepicker":
        return {"type": element_type, "selected_date": draw(st.one_of(date_text, st.none()))}
    if element_type == "url_text_input":
        return {"type": element_type, "value": draw(st.one_of(
            st.sampled_from(("https://evil.example|x", "javascript:alert(1)", "https://<!channel>",
                             "http://127.0.0.1:9/x", "https://example.com/" + "a" * 3000)), hostile_text))}
    return {"type": element_type or "plain_text_input", "value": draw(st.one_of(hostile_text, st.none()))}


metadata = st.one_of(
    hostile_text, id_like, st.builds(filled, st.just(5000), st.just("C")),
    st.lists(st.one_of(st.sampled_from(("1", "C05APR2VLSQ", "1700000000.000100", "usecase", "vendor", "")),
                       id_like, hostile_text), min_size=1, max_size=4).map(":".join))

ACTION_PATHS = COMMON_PATHS + [("actions",), ("actions", 0), ("actions", 0, "value"), ("actions", 0, "action_id"),
                               ("actions", 0, "block_id"), ("actions", 0, "type"), ("actions", 0, "selected_option"),
                               ("container",), ("container", "message_ts"), ("container", "view_id"),
                               ("channel",), ("channel", "id"), ("message",), ("message", "ts"),
                               ("message", "blocks"), ("state",), ("state", "values"), ("view",)]
VIEW_PATHS = COMMON_PATHS + [("view",), ("view", "id"), ("view", "callback_id"), ("view", "state"),
                             ("view", "state", "values"), ("view", "blocks"), ("view", "private_metadata"),
                             ("view", "hash"), ("view", "type"), ("response_urls",)]
SHORTCUT_PATHS = COMMON_PATHS + [("message",), ("message", "ts"), ("message", "text"), ("message", "user"),
                                 ("message", "blocks"), ("channel",), ("channel", "id"), ("message_ts",),
                                 ("callback_id",)]
SUGGESTION_PATHS = COMMON_PATHS + [("value",), ("action_id",), ("block_id",), ("view",), ("view", "id"),
                                   ("view", "private_metadata"), ("container",)]
EVENT_PATHS = [("type",), ("event",), ("event", "type"), ("event", "user"), ("event", "tab"), ("event", "view"),
               ("event", "channel"), ("event_id",), ("team_id",), ("authorizations",), ("api_app_id",),
               ("event_time",), ("event", "bot_id")]


def _checklist_state(draw: Any) -> dict:
    block = draw(st.sampled_from(("checklist-1", "checklist-0", "x")))
    action = draw(st.sampled_from([a for a in ACTION_IDS if a.startswith("approval_checklist")] or ["x"]))
    return {block: {action: {"type": "checkboxes", "selected_options": draw(st.lists(option, max_size=3))}}}


@st.composite
def block_action(draw: Any, fake: FakeSlack, world: World) -> Shot:
    action_id = draw(st.one_of(st.sampled_from(ACTION_IDS), st.sampled_from(ACTION_IDS),
                               st.sampled_from(UNKNOWN_NAMES)))
    user = draw(actor)
    trigger_id = payloads.new_trigger_id()
    response_url = fake.response_url(trigger_id)
    notes = [f"{action_id!r} by {user!r}"]
    home = world.home and (action_id.startswith("home_page") or draw(st.integers(0, 9)) == 0)
    real = world.messages.get(action_id, [])
    channel_id, message, view = draw(channel), None, None
    if home:
        view = copy.deepcopy(draw(st.sampled_from(world.home)))
        notes.append("in App Home")
    elif real and draw(st.booleans()):
        channel_id, message = copy.deepcopy(draw(st.sampled_from(real)))
        notes.append(f"on a real message in {channel_id}")
    value = None if (message or view) and draw(st.booleans()) else draw(button_value)
    state = _checklist_state(draw) if draw(st.booleans()) else None
    payload = payloads.block_actions(action_id, value, user_id=user, channel_id=channel_id, message=message,
                                     message_ts=message["ts"] if message else None, view=view,
                                     trigger_id=trigger_id, response_url=response_url, state=state)
    if value is not None:
        notes.append(f"value {value[:80]!r}")
    mutate(draw, payload, ACTION_PATHS, notes)
    # In App Home there is no response_url: a pager's click is answered with the page it asked
    # for, a problem with a notice on the home tab — which the bot knows only by the view.
    in_home = isinstance(payload.get("view"), dict) and payload["view"].get("type") == "home"
    tell = _reaches_user(payload, response_url) or (
        bool(home) and in_home and action_id.startswith("home_page") and isinstance(payload.get("user"), dict))
    # A checklist tick is only acknowledged: the ticks are read when Approve is pressed.
    tell = tell and not action_id.startswith(CHECKLIST)
    return Shot("block_actions", interactive_body(payload), FORM, trigger_id=trigger_id,
                tell_user=tell and isinstance(payload.get("actions"), list) and bool(payload["actions"]),
                note="; ".join(notes))


@st.composite
def view_submission(draw: Any, fake: FakeSlack, world: World) -> Shot:
    callback = draw(st.one_of(st.sampled_from(CALLBACK_IDS), st.sampled_from(CALLBACK_IDS),
                              st.sampled_from(UNKNOWN_NAMES)))
    opened = world.views.get(callback, [])
    view = copy.deepcopy(draw(st.sampled_from(opened))) if opened else None
    notes = [f"{callback!r}" + (" on the form the bot opened" if view else " on no form of ours")]
    if view and draw(st.booleans()):
        private_metadata = view.get("private_metadata", "")
    else:
        private_metadata = draw(metadata)
        notes.append(f"metadata {private_metadata[:60]!r}")
    values = {}
    for block_id, action_id, element_type in _inputs(view or {}):
        if draw(st.integers(0, 7)) == 0:
            notes.append(f"no answer for {block_id}")
            continue
        values.setdefault(block_id, {})[action_id] = draw(answer_for(element_type))
    payload = payloads.view_submission(callback, values, user_id=draw(actor), private_metadata=private_metadata,
                                       view_id=view["id"] if view else "V0VIEW", view=view)
    if draw(st.integers(0, 5)) == 0:
        payload["type"] = "view_closed"
        notes.append("closed")
    mutate(draw, payload, VIEW_PATHS, notes)
    return Shot("view_submission", interactive_body(payload), FORM, note="; ".join(notes))


@st.composite
def shortcut(draw: Any, fake: FakeSlack) -> Shot:
    callback = draw(st.one_of(st.sampled_from(SHORTCUTS), st.sampled_from(UNKNOWN_NAMES)))
    trigger_id = payloads.new_trigger_id()
    response_url = fake.response_url(trigger_id)
    message = {"type": "message", "ts": draw(st.one_of(st.just("1700000000.000100"), id_like)),
               "user": draw(actor), "text": draw(hostile_text),
               "blocks": draw(st.one_of(st.just([]), garbage))}
    payload = payloads.message_shortcut(callback, message, channel_id=draw(channel), user_id=draw(actor),
                                        trigger_id=trigger_id, response_url=response_url)
    notes = [f"{callback!r}"]
    if draw(st.integers(0, 4)) == 0:  # a global shortcut: Countersign defines none
        payload["type"] = "shortcut"
        notes.append("global")
    mutate(draw, payload, SHORTCUT_PATHS, notes)
    return Shot("message_action", interactive_body(payload), FORM, trigger_id=trigger_id,
                tell_user=_reaches_user(payload, response_url), note="; ".join(notes))


@st.composite
def options_request(draw: Any, world: World) -> Shot:
    action_id = draw(st.one_of(st.sampled_from(OPTION_PICKERS), st.sampled_from(UNKNOWN_NAMES)))
    forms = world.pickers.get(action_id) or [{"id": "V0NOFORM", "type": "modal", "blocks": []}]
    view = copy.deepcopy(draw(st.sampled_from(forms)))
    block_id = next((b.get("block_id") for b in view.get("blocks") or []
                     if action_id in _action_ids([b])), None) or draw(hostile_text)
    payload = payloads.block_suggestion(action_id, draw(hostile_text), block_id=block_id, view=view,
                                        user_id=draw(actor))
    notes = [f"{action_id!r}"]
    mutate(draw, payload, SUGGESTION_PATHS, notes)
    return Shot("block_suggestion", interactive_body(payload), FORM, note="; ".join(notes))


RETRY_VALUES = ("1", "-1", "abc", "99999999999999999999", "", "1.5", "\u0661".encode())


@st.composite
def event_delivery(draw: Any) -> Shot:
    event_type = draw(st.one_of(st.sampled_from(EVENT_TYPES), st.sampled_from(
        ("message", "app_mention", "reaction_added", "app_uninstalled", "tokens_revoked", ""))))
    event = {"type": event_type, "user": draw(actor), "channel": draw(channel),
             "tab": draw(st.one_of(st.sampled_from(("home", "messages")), hostile_text)),
             "text": draw(hostile_text), "event_ts": "1700000000.000100"}
    body: Any = payloads.event_callback(event)
    notes = [f"{event_type!r}"]
    kind = draw(st.integers(0, 9))
    if kind == 0:
        body = payloads.url_verification(draw(hostile_text))
        notes.append("url_verification")
    elif kind == 1:
        body = {"type": "app_rate_limited", "team_id": "T0001", "minute_rate_limited": draw(garbage)}
        notes.append("app_rate_limited")
    mutate(draw, body, EVENT_PATHS, notes)
    headers = []
    if draw(st.booleans()):
        headers = [("X-Slack-Retry-Num", draw(st.sampled_from(RETRY_VALUES))),
                   ("X-Slack-Retry-Reason", draw(st.sampled_from(("http_timeout", "", "x" * 300, b"\xff"))))]
        notes.append(f"retry headers {headers}")
    content_type = draw(st.sampled_from((JSON, JSON, JSON, f"{JSON}; charset=utf-8", FORM, None)))
    return Shot("event", as_json(body).encode(), content_type, headers=headers, note="; ".join(notes))

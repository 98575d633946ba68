"""What `/ai-audit usage` is asked, as words — `since:7d model:gpt-4o user:@mara usecase:UC-3` —
in any order, read the way /ai-audit reads its own filters (services/audit_log/filter_text):
the same words splitter, the same `since:`/`until:` (`7d`, `12h`, `2026-11-01`), the same
reading of a Slack mention. Every mistake is a FilterError saying what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.audit_log import filter_text as audit_words
from services.audit_log.query import FilterError, parse_since
from services.usage.event import NAME_MAX

KEYS = ("since", "until", "model", "user", "usecase")
DEFAULT_SINCE = timedelta(days=7)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
EXAMPLE = "since:7d model:gpt-4o user:@mara usecase:UC-3"
_USE_CASE = re.compile(r"^(?:uc-)?([0-9]{1,6})$", re.IGNORECASE)
# Slack links a typed e-mail address (`<mailto:a@b.example|a@b.example>`): telemetry's user ids often are one.
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
_NAME = re.compile(r"^[^\x00-\x20\x7f-\x9f<>]+$")


@dataclass(frozen=True)
class UsageAsk:
    since: datetime
    until: datetime
    model: str | None = None
    user: str | None = None  # a Slack user id, or an id as telemetry sends it
    use_case: str | None = None  # UC-3


def parse(text: str, *, now: datetime) -> UsageAsk:
    """What `text` asks for; without `since:`, the last seven days up to now."""
    given: dict[str, str] = {}
    for word in audit_words.words(text):
        key, sep, value = word.partition(":")
        key = key.lower()
        if not sep or key not in KEYS:
            raise FilterError(f"`{word[:60]}` is not a usage filter; they look like {EXAMPLE}")
        if not value:
            raise FilterError(f"`{key}:` needs a value, e.g. {_example(key)}")
        if key in given:
            raise FilterError(f"`{key}:` is given twice; give it once")
        given[key] = value
    # Nothing was reported before EARLIEST or after now: a window past either is cut there, and
    # every moment stays one the playbook's calendar can name.
    since = max(_moment("since", given["since"], now) if "since" in given else now - DEFAULT_SINCE, EARLIEST)
    until = min(_moment("until", given["until"], now), now) if "until" in given else now
    if since >= until:
        raise FilterError("`since:` must come before `until:` (and before now)")
    model = given.get("model")
    return UsageAsk(since=since, until=until, model=_name("model", model) if model else None,
                    user=_user(given["user"]) if "user" in given else None,
                    use_case=_use_case(given["usecase"]) if "usecase" in given else None)


def _example(key: str) -> str:
    return "until:2026-11-01" if key == "until" else next(
        w for w in EXAMPLE.split() if w.startswith(f"{key}:"))


def _moment(key: str, value: str, now: datetime) -> datetime:
    try:
        return parse_since(value, now=now).astimezone(UTC)
    except OverflowError:
        raise FilterError(f"`{key}:{value[:60]}` is outside the calendar") from None


def _name(key: str, value: str) -> str:
    if len(value) > NAME_MAX or not _NAME.match(value):
        raise FilterError(f"`{key}:{value[:60]}` should be a name as telemetry reports it, "
                          f"like gpt-4o (at most {NAME_MAX} characters)")
    return value


def _user(value: str) -> str:
    if value.startswith("<@"):
        try:
            return audit_words.actor_id(value)
        except FilterError:
            raise FilterError(f"`user:{value[:60]}` should be an @mention or a user id") from None
    if mailto := _MAILTO.match(value):
        value = mailto.group(1)
    return _name("user", value)


def _use_case(value: str) -> str:
    match = _USE_CASE.match(value)
    if match is None:
        raise FilterError(f"`usecase:{value[:60]}` should be a use case like UC-3")
    return f"UC-{int(match.group(1))}"


def render(ask: UsageAsk) -> str:
    """The words of `ask`, times absolute: what the answer says it was asked."""
    out = [f"since:{_when(ask.since)}", f"until:{_when(ask.until)}"]
    out += [f"{key}:{value}" for key, value in (("model", ask.model), ("user", ask.user),
                                                ("usecase", ask.use_case)) if value is not None]
    return " ".join(out)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

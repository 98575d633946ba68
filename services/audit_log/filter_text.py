"""Filters written as words — `actor:@mara action:approval.* since:7d` — and back.

`parse` reads what a person typed (a Slack mention arrives as `<@U123|name>` or `<@U123>`,
a raw id works too), in any order, into an AuditFilter; every mistake is a FilterError that
says what was expected. `render` writes a filter as the one canonical spelling `parse` reads
back to the same filter, times absolute: what a Next button carries, so a page reached by
clicks shows what the first one was asked for however much later the click comes.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from services.audit_log.query import (
    ACTION_PATTERN,
    AuditFilter,
    FilterError,
    parse_entity,
    parse_since,
)

KEYS = ("actor", "action", "entity", "since", "until")
MAX_ACTIONS = 5
EXAMPLE = "actor:@user action:approval.* entity:request:42 since:7d until:2026-11-01"
# A `<…>` span is one piece of a word even if it holds spaces (a mention's label may).
_WORD = re.compile(r"(?:<[^>]*>|\S)+")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,40})(?:\|[^>]*)?>$")
# What the log stores as actors: Slack user ids, and names of our own (countersign, api:ci).
_ACTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_ENTITY_TYPE = re.compile(r"^[a-z][a-z_]{0,31}$")
_ENTITY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def parse(text: str, *, now: datetime) -> AuditFilter:
    """The filter `text` asks for; FilterError naming the first word that means nothing."""
    flt = AuditFilter()
    seen: set[str] = set()
    for word in words(text):
        key, sep, value = word.partition(":")
        key = key.lower()
        if not sep or key not in KEYS:
            raise FilterError(f"`{word[:60]}` is not a filter; filters look like {EXAMPLE}")
        if not value:
            raise FilterError(f"`{key}:` needs a value, e.g. {_example(key)}")
        if key in seen and key != "action":
            raise FilterError(f"`{key}:` is given twice; give it once")
        seen.add(key)
        flt = _apply(flt, key, value, now=now)
    if flt.since is not None and flt.until is not None and flt.since >= flt.until:
        raise FilterError("`since:` must come before `until:`")
    return flt


def _example(key: str) -> str:
    return next(w for w in EXAMPLE.split() if w.startswith(f"{key}:"))


def _apply(flt: AuditFilter, key: str, value: str, *, now: datetime) -> AuditFilter:
    if key == "actor":
        return replace(flt, actor=actor_id(value))
    if key == "action":
        value = value.lower()
        if len(value) > 64 or not ACTION_PATTERN.match(value):
            raise FilterError(f"`action:{value[:60]}` is not an action name (approval.approved) or a "
                              "prefix (approval.*)")
        if len(flt.actions) == MAX_ACTIONS:
            raise FilterError(f"at most {MAX_ACTIONS} `action:` filters at once")
        return replace(flt, actions=(*flt.actions, value)) if value not in flt.actions else flt
    if key == "entity":
        entity_type, entity_id = parse_entity(value)
        if not _ENTITY_TYPE.match(entity_type) or not _ENTITY_ID.match(entity_id):
            raise FilterError(f"`entity:{value[:60]}` should look like request:42 or incident:7")
        return replace(flt, entity_type=entity_type, entity_id=entity_id)
    try:
        moment = parse_since(value, now=now).astimezone(UTC)
    except OverflowError:
        raise FilterError(f"`{key}:{value[:60]}` is outside the calendar") from None
    return replace(flt, **{key: moment})


def actor_id(value: str) -> str:
    """The actor a filter names: the id inside a Slack mention, or the id as typed."""
    if mention := _MENTION.match(value):
        return mention.group(1)
    if not _ACTOR.match(value):
        raise FilterError(f"`actor:{value[:60]}` should be an @mention or a Slack user id (U…)")
    return value


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render(flt: AuditFilter) -> str:
    """The canonical words for `flt`: parse(render(f)) == f. Paging cursors are not words."""
    out = [f"actor:{flt.actor}"] if flt.actor is not None else []
    out += [f"action:{a}" for a in flt.actions]
    if flt.entity_type is not None and flt.entity_id is not None:
        out.append(f"entity:{flt.entity_type}:{flt.entity_id}")
    if flt.since is not None:
        out.append(f"since:{_when(flt.since)}")
    if flt.until is not None:
        out.append(f"until:{_when(flt.until)}")
    return " ".join(out)


def read_back(text: str, *, now: datetime) -> AuditFilter:
    """A filter that returns from the client (a button): exactly one `render` could have
    written, or FilterError — a relative `since:7d` or any other spelling was not ours."""
    flt = parse(text, now=now)
    if render(flt) != text:
        raise FilterError("not a filter this bot wrote")
    return flt

"""What the product listens to — commands, action ids, view callbacks, shortcuts, option
pickers, event types — read from the registration code itself (each surface's
`register(app)` run against a recorder), so nothing is copied by hand and nothing drifts.

Metrics are labelled with these names only: a label taken from request content (an action id
anyone can put in a payload) makes a new time series per value, without bound.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Constraint = str | re.Pattern[str]
OTHER = "other"


@dataclass(frozen=True)
class Catalogue:
    names: dict[str, tuple[Constraint, ...]]  # surface → what is registered on it

    def label(self, surface: str, name: Any) -> str:
        """`surface:name` for a registered name (a pattern's literal part), else `surface:other`."""
        for constraint in self.names.get(surface, ()):
            if isinstance(constraint, str):
                if constraint == name:
                    return f"{surface}:{name}"
            elif isinstance(name, str) and constraint.search(name):
                return f"{surface}:{literal_part(constraint)}"
        return f"{surface}:{OTHER}"

    def __contains__(self, item: tuple[str, str]) -> bool:
        surface, name = item
        return not self.label(surface, name).endswith(f":{OTHER}")


def literal_part(pattern: re.Pattern[str]) -> str:
    """`^approval_checklist-\\d+$` → `approval_checklist`: the fixed text a pattern begins with."""
    text = pattern.pattern.removeprefix("^")
    end = next((i for i, ch in enumerate(text) if ch in "\\.[](){}*+?|^$"), len(text))
    return text[:end].rstrip("-_:") or OTHER


class Recorder:
    """Stands in for the AsyncApp while surfaces register; keeps what each listener is for.

    Only the registrations our surfaces use exist here: a new kind fails loudly rather than
    going unrecorded.
    """

    def __init__(self) -> None:
        self.names: dict[str, list[Constraint]] = defaultdict(list)

    def _record(self, surface: str, constraint: Constraint) -> Callable[[Any], Any]:
        if not isinstance(constraint, str | re.Pattern):
            raise TypeError(f"{surface} registered with {constraint!r}: record its name here")
        self.names[surface].append(constraint)
        return lambda listener: listener

    def command(self, name: Constraint, *_: Any, **__: Any) -> Callable[[Any], Any]:
        return self._record("command", name)

    def action(self, action_id: Constraint, *_: Any, **__: Any) -> Callable[[Any], Any]:
        return self._record("action", action_id)

    def view(self, callback_id: Constraint, *_: Any, **__: Any) -> Callable[[Any], Any]:
        return self._record("view", callback_id)

    def shortcut(self, callback_id: Constraint, *_: Any, **__: Any) -> Callable[[Any], Any]:
        return self._record("shortcut", callback_id)

    def options(self, action_id: Constraint, *_: Any, **__: Any) -> Callable[[Any], Any]:
        return self._record("options", action_id)

    def event(self, event_type: Constraint, *_: Any, **__: Any) -> Callable[[Any], Any]:
        return self._record("event", event_type)

    def catalogue(self) -> Catalogue:
        return Catalogue({surface: tuple(names) for surface, names in self.names.items()})


def record(registrations: Iterable[Callable[[Any], None]]) -> Catalogue:
    recorder = Recorder()
    for register in registrations:
        register(recorder)
    return recorder.catalogue()


def addressed(kind: str, body: dict[str, Any]) -> tuple[str, Any] | None:
    """(surface, name) a checked body of `kind` (bot/slack_payload.check) is addressed to."""
    if kind == "command":
        return "command", body.get("command")
    if kind == "block_actions":
        return "action", body["actions"][0].get("action_id")
    if kind in ("view_submission", "view_closed"):
        return "view", body["view"].get("callback_id")
    if kind in ("message_action", "shortcut"):
        return "shortcut", body.get("callback_id")
    if kind == "block_suggestion":
        return "options", body.get("action_id")
    if kind == "event_callback":
        return "event", body["event"].get("type")
    return None

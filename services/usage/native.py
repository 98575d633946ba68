"""The native batch API's events (`POST /api/v1/ai-events`), checked one by one.

A batch is `{"events": [...]}` of at most MAX_EVENTS. Each event is checked on its own: the
good ones are kept, each bad one is reported by its index and the field at fault, so a client
fixes and resends just those (resending the good ones too is harmless: `id` makes it idempotent).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated, Any

from pydantic import (AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field,
                      StringConstraints, ValidationError)

from services.usage import content
from services.usage.event import KEY_MAX, NAME_MAX, TOKENS_MAX, Observation

MAX_EVENTS = 1000
_PREFIX = "native:"

# The published document (bot/openapi.yaml) states these same patterns, so what it calls valid
# is taken and what it calls invalid is refused (tests/reliability/test_api_fuzz.py sends both).
# No control characters (C0, DEL, C1): names are shown in Slack and compared in SQL.
NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"
ID_PATTERN = "^[!-~]+$"
USE_CASE_PATTERN = "^UC-[0-9]{1,6}$"
# RFC 3339 with its offset, in 2000–2099 (a real date: February 29th in leap years only).
_DAY = ("(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        "|02-(?:0[1-9]|1[0-9]|2[0-8]))")
MOMENT_PATTERN = (f"^(?:20[0-9]{{2}}-{_DAY}|20(?:[02468][048]|[13579][26])-02-29)"
                  "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?"
                  "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
_moment = re.compile(MOMENT_PATTERN)


def _rfc3339(value: object) -> object:
    # pydantic alone would also take epoch numbers, a space for the T and more; the document
    # promises exactly RFC 3339.
    if not isinstance(value, str) or _moment.fullmatch(value) is None:
        raise ValueError("expected an RFC 3339 date-time with its offset, like "
                         "2026-12-01T09:30:00Z, in 2000–2099")
    return value


def _whole(value: object) -> object:
    # JSON Schema's integer is any number without a fraction (2.0 is one); a string or a bool
    # is not, though pydantic's lax mode would take "2" and true.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a whole number")
    return value


Name = Annotated[str, StringConstraints(max_length=NAME_MAX, pattern=NAME_PATTERN)]
Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
Tokens = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=TOKENS_MAX)]


class NativeEvent(BaseModel):
    """One AI call. `input`/`output` are text or a list of chat messages ({role, content})."""

    # Python's re, as the document's patterns are read by JSON Schema validators here.
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")

    id: Annotated[str, StringConstraints(max_length=KEY_MAX - len(_PREFIX), pattern=ID_PATTERN)]
    started_at: Moment
    ended_at: Moment | None = None
    operation: Name | None = None
    provider: Name | None = None
    model: Name
    response_model: Name | None = None
    service: Name | None = None
    user: Name | None = None
    team: Name | None = None
    use_case: Annotated[str, StringConstraints(pattern=USE_CASE_PATTERN)] | None = None
    input_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    cost_usd: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)] | None = None
    input: str | list[Any] | None = None
    output: str | list[Any] | None = None
    error: Annotated[str, StringConstraints(max_length=500)] | None = None
    attributes: dict[Name, Annotated[str, StringConstraints(max_length=NAME_MAX)]] = Field(
        default_factory=dict, max_length=32)

    def observation(self) -> Observation:
        return Observation(
            key=_PREFIX + self.id, source="native", started_at=self.started_at.astimezone(UTC),
            ended_at=self.ended_at.astimezone(UTC) if self.ended_at else None,
            operation=self.operation, provider=self.provider, request_model=self.model,
            response_model=self.response_model, service=self.service, user=self.user,
            team=self.team, use_case=self.use_case, input_tokens=self.input_tokens,
            output_tokens=self.output_tokens, cost_usd=self.cost_usd,
            input_text=content.flatten(self.input) if self.input is not None else None,
            output_text=content.flatten(self.output) if self.output is not None else None,
            error=self.error, attributes=dict(self.attributes))


@dataclass(frozen=True)
class Problem:
    index: int | None  # None: the batch itself
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchError(ValueError):
    """The body is not a batch at all: nothing in it is kept."""


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(event)"


def batch(body: bytes) -> tuple[list[Observation], list[Problem]]:
    """The batch's good events, and a problem for each bad one (by index and field)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise BatchError('expected {"events": [ … ]}: an object holding an array of events')
    events = document["events"]
    if len(events) > MAX_EVENTS:
        raise BatchError(f"{len(events)} events in one request; at most {MAX_EVENTS}")
    kept: list[Observation] = []
    problems: list[Problem] = []
    for index, raw in enumerate(events):
        try:
            kept.append(NativeEvent.model_validate(raw).observation())
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                message = error["msg"].removeprefix("Value error, ")
                problems.append(Problem(index, _field(tuple(error["loc"])), message))
    return kept, problems

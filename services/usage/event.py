"""One AI call, as any source reports it: the shape every reader (OTLP, LiteLLM, native) fills.

An `Observation` still holds the call's content as the source sent it; nothing stores it as
such. `keeping.kept` turns it into what is stored: digests, a bounded redacted excerpt and
counts of what was redacted (full text only where the playbook allows it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SOURCES = ("otlp", "litellm", "native")
KEY_MAX = 200
NAME_MAX = 200
TOKENS_MAX = 2**31 - 1  # usage_event's token columns are 32-bit on PostgreSQL
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class Rejected(ValueError):
    """One record a source sent that cannot be kept: `field` is its path inside the record
    (`attributes.gen_ai.request.model`, `startTime`, `input_tokens`), `reason` one sentence."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


# The checks every reader makes of a value it read, so that a name, a count, a cost or a time
# is refused for the same reasons and in the same words whichever source sent it.


def checked_name(value: Any, field: str, limit: int = NAME_MAX) -> str | None:
    """A name (a model, a service, a person); None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejected(field, "expected a string")
    text = str(value)
    if len(text) > limit:
        raise Rejected(field, f"{len(text)} characters long; at most {limit}")
    if "\x00" in text:
        raise Rejected(field, "contains a NUL character")
    return text


def checked_count(value: Any, field: str) -> int:
    """A token count: a whole number (2.0 is one) that the column holds."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= TOKENS_MAX:
        raise Rejected(field, f"expected a whole number from 0 to {TOKENS_MAX}")
    return value


def checked_cost(value: Any, field: str, expected: str = "a non-negative number") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise Rejected(field, f"expected {expected}")
    return float(value)


def checked_moment(moment: datetime, field: str) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise Rejected(field, f"{moment.isoformat()} is outside 2000–2099")
    return moment


@dataclass(frozen=True)
class Observation:
    # Unique over all sources: `otlp:<trace id>:<span id>`, `litellm:<id>`, `native:<id>`; a
    # retried delivery carries the same key and is taken once.
    key: str
    source: str
    started_at: datetime  # aware, UTC
    ended_at: datetime | None = None
    operation: str | None = None  # gen_ai.operation.name: chat, embeddings, execute_tool, …
    provider: str | None = None  # gen_ai.provider.name (or the older gen_ai.system): openai, …
    request_model: str | None = None
    response_model: str | None = None
    service: str | None = None  # who called, as a program (OTLP: the resource's service.name)
    user: str | None = None  # who called, as a person (user.id / enduser.id / LiteLLM's user)
    team: str | None = None
    use_case: str | None = None  # a registry id like UC-12, when the source says
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    input_text: str | None = None  # the prompt, flattened to text (messages one per line)
    output_text: str | None = None
    error: str | None = None  # the call failed: its error type or status message
    trace_id: str | None = None  # hex, as OTLP/JSON spells it
    span_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # anything else worth showing

    @property
    def model(self) -> str | None:
        """The model that answered, or the one asked for when no answer said."""
        return self.response_model or self.request_model

"""What is kept of an AI call's content: digests always, then an excerpt, the full text, or nothing.

Privacy by default: without a playbook saying otherwise, a prompt is kept as its SHA-256 and a
short excerpt with personal data and secrets redacted (services/usage/redaction.py), and what
was redacted is counted, never stored. The digest covers the whole text, so the same prompt
seen twice is recognisable without being readable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.usage import redaction
from services.usage.event import Observation

EXCERPT_CHARS = 500
# Redaction reads this much of a text: it is counted for the excerpt's sake and for the
# personal-data rule, and a prompt of megabytes would otherwise cost seconds of one batch.
SCANNED_CHARS = 64 * 1024
ERROR_MAX = 500


def storable(text: str | None) -> str | None:
    """`text` as both databases can hold it: no NUL (PostgreSQL refuses it) and no lone
    surrogate (not UTF-8; JSON's \\ud800 escapes can carry one in)."""
    if text is None:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _kept_text(text: str | None, keep: str, counts: dict[str, int]) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    text = storable(text)
    digest = redaction.digest(text)
    # Counted however the text is kept: the personal-data watch rule reads the counts.
    found = redaction.redact(text[:SCANNED_CHARS])
    for rule, n in found.counts.items():
        counts[rule] = counts.get(rule, 0) + n
    if keep == "full":
        return digest, text
    if keep == "digest":
        return digest, None
    return digest, redaction.cut(found.text, EXCERPT_CHARS)


def row(observation: Observation, *, keep: str, ingested_by: str, received_at: datetime) -> dict[str, Any]:
    """The usage_event row for `observation`, its content kept as `keep` says."""
    counts: dict[str, int] = {}
    input_digest, input_text = _kept_text(observation.input_text, keep, counts)
    output_digest, output_text = _kept_text(observation.output_text, keep, counts)
    return {
        "key": storable(observation.key),
        "source": observation.source,
        "ingested_by": ingested_by,
        "received_at": received_at,
        "started_at": observation.started_at,
        "ended_at": observation.ended_at,
        "operation": storable(observation.operation),
        "provider": storable(observation.provider),
        "model": storable(observation.model),
        "request_model": storable(observation.request_model),
        "service": storable(observation.service),
        "user_id": storable(observation.user),
        "team": storable(observation.team),
        "use_case": storable(observation.use_case),
        "input_tokens": observation.input_tokens,
        "output_tokens": observation.output_tokens,
        "cost_usd": observation.cost_usd,
        "error": storable(observation.error[:ERROR_MAX]) if observation.error else None,
        "trace_id": storable(observation.trace_id),
        "span_id": storable(observation.span_id),
        "keep": keep,
        "input_digest": input_digest,
        "output_digest": output_digest,
        "input_text": input_text,
        "output_text": output_text,
        "redactions": counts,
        "attributes": {storable(k): storable(v) for k, v in observation.attributes.items()},
    }

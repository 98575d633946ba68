"""The one encoding an event is hashed in. An auditor re-implements exactly this:

* a JSON object with the keys `action`, `actor`, `at`, `entity_id`, `entity_type`, `id`,
  `payload`, `request_id`, `seq` — every stored field of the event but its seal;
* UTF-8, keys sorted by code point at every level, no whitespace between tokens
  (Python: `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`);
* `at` as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fraction digits);
* integers, strings, booleans, null, arrays and objects only: no floats, no NaN, so no number
  has two spellings. `append` refuses a payload that holds one.

The leaf hash is RFC 6962's: SHA-256(0x00 ‖ encoding).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
FIELDS = ("action", "actor", "at", "entity_id", "entity_type", "id", "payload", "request_id",
          "seq")

_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False, check_circular=False)


class NotCanonical(ValueError):
    """A value the canonical encoding has no single spelling for."""


def dumps(value: Any) -> str:
    """Any JSON value in the canonical spelling. The database stores JSON columns this way too
    (bot/db.py), so verify can hash a stored payload's text without parsing it."""
    return _encoder.encode(value)


_string = json.encoder.encode_basestring  # ensure_ascii=False's string escaping, in C
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def encode_stored(seq: int, id: int, at: str, actor: str, action: str, entity_type: str,
                  entity_id: str, payload_text: str, request_id: str | None) -> bytes | None:
    """The canonical bytes assembled from stored text, without parsing the payload: equal to
    `encode(...)` whenever the stored payload text is already canonical, which is how it is
    written. None when `at` is not in the canonical form. Every other part is escaped here, so
    bytes equal to a sealed leaf's imply fields equal to the sealed event's."""
    if not _TS.fullmatch(at) or type(seq) is not int or type(id) is not int:
        return None
    rid = "null" if request_id is None else _string(request_id)
    return (f'{{"action":{_string(action)},"actor":{_string(actor)},"at":"{at}",'
            f'"entity_id":{_string(entity_id)},"entity_type":{_string(entity_type)},"id":{id},'
            f'"payload":{payload_text},"request_id":{rid},"seq":{seq}}}').encode("utf-8")


def timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise NotCanonical("timestamps must carry a time zone (UTC)")
    return at.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def refuse_floats(value: Any, path: str = "payload") -> None:
    """Raise NotCanonical naming where a float (or another non-JSON value) sits in `value`."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path} is a float ({value!r}); store it as an integer or a string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{path} has a non-string key {key!r}")
            refuse_floats(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            refuse_floats(item, f"{path}[{i}]")
        return
    raise NotCanonical(f"{path} is a {type(value).__name__}, which JSON cannot hold")


def fields(*, seq: int, id: int, at: datetime | str, actor: str, action: str, entity_type: str,
           entity_id: str, payload: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    """The object that is encoded: every field but the seal, `at` in its canonical text (it
    may come so already, as an export holds it)."""
    return {"action": action, "actor": actor, "at": at if isinstance(at, str) else timestamp(at),
            "entity_id": entity_id, "entity_type": entity_type, "id": id, "payload": payload,
            "request_id": request_id, "seq": seq}


def encode(**event: Any) -> bytes:
    """The canonical bytes of one event (the keyword arguments of `fields`)."""
    return _encoder.encode(fields(**event)).encode("utf-8")

"""/api/v1/audit/…: the sealed audit log for SIEMs and auditors (scope `audit`).

Events are NDJSON, one sealed event per line in seq order, read from the database in pages and
streamed, so a response of 10,000 events holds at most one page in memory. A response is at most
`limit` events; `X-Next-After-Seq` says where the next one starts, and a `Link: …; rel="next"`
is there when more events matched. Only sealed events are served: an unsealed one has no seq
yet, and a cursor over it would skip it once it was sealed below an already-served seq.

Every parameter is checked against the pattern the published document (bot/openapi.yaml) gives
for it, the same strings, so a request the document calls valid is answered and one it calls
invalid is a 400 that names the parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.api_auth import ApiAuth
from bot.db import snapshot
from models.audit import AuditCheckpoint, AuditEvent
from services.audit_log import proofs
from services.audit_log.canonical import timestamp
from services.audit_log.query import AuditFilter, FilterError, event_record, parse_entity, parse_since

if TYPE_CHECKING:
    from bot.bootstrap import Services

SCOPE = "audit"
NDJSON = "application/x-ndjson"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
# The largest seq the log can hold (audit_event.seq is a 32-bit integer on PostgreSQL).
MAX_SEQ = 2**31 - 1
# Rows read per database round trip while streaming.
PAGE = 500

# The published patterns (tests/unit/test_openapi.py checks the document holds these strings).
_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (f"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
         "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
         f"|{_LEAP_YEAR}-02-29)")
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?"
_ZONE = "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
# A duration back from now (as /ai-audit takes it), or a real date, optionally with a time and
# a zone (UTC without one).
MOMENT_PATTERN = f"^(?:[0-9]{{1,5}}[mhdw]|{_DATE}(?:T{_TIME}{_ZONE}?)?)$"
_ACTION = "(?:[a-z0-9_.]+(?:\\.\\*)?|\\*)"
ACTIONS_PATTERN = f"^{_ACTION}(?:,{_ACTION})*$"
# No control characters (as services/inputs.py refuses them; NUL could not even be compared).
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
ACTOR_PATTERN = f"^[^{_CONTROL}]{{1,64}}$"
ENTITY_PATTERN = f"^[^:{_CONTROL}]+:[^{_CONTROL}]+$"
ENTITY_MAX = 200
SEQ_PATTERN = "^[0-9]{1,10}$"
LIMIT_PATTERN = "^[0-9]{1,5}$"

_moment, _actions, _actor, _entity, _seq, _limit = (
    re.compile(p) for p in (MOMENT_PATTERN, ACTIONS_PATTERN, ACTOR_PATTERN, ENTITY_PATTERN,
                            SEQ_PATTERN, LIMIT_PATTERN))


class BadParameter(ValueError):
    def __init__(self, name: str, expected: str) -> None:
        super().__init__(f"{name}: {expected}")


def _match(pattern: re.Pattern[str], value: str) -> bool:
    # fullmatch: `$` alone would let a trailing newline through.
    return pattern.fullmatch(value) is not None


def _utc(moment: datetime) -> datetime:
    """In UTC; a zone that pushes year 1 or 9999 past the calendar's edge means 'ever'."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


def _moment_param(params: QueryParams, name: str, now: datetime) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    if not _match(_moment, value):
        raise BadParameter(name, f"expected a duration back from now like 30m, 12h, 7d or 2w, or "
                                 f"an ISO 8601 date or date-time like 2026-11-01 or "
                                 f"2026-11-01T09:30:00Z; got {value[:80]!r}")
    try:
        return _utc(parse_since(value, now=now))
    except FilterError as exc:  # not for what the pattern admits; a 400 all the same
        raise BadParameter(name, str(exc)) from None


def _int_param(params: QueryParams, name: str, pattern: re.Pattern[str], low: int, high: int,
               default: int | None) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if not _match(pattern, value) or not low <= int(value) <= high:
        raise BadParameter(name, f"expected a whole number from {low} to {high}; got {value[:80]!r}")
    return int(value)


@dataclass(frozen=True)
class EventsQuery:
    filter: AuditFilter
    limit: int


def events_query(params: QueryParams, *, now: datetime) -> EventsQuery:
    """The request's filter, or BadParameter naming the first parameter that means nothing."""
    actions: list[str] = []
    for value in params.getlist("action"):
        if not _match(_actions, value):
            raise BadParameter("action", "expected action names like approval.approved or prefixes "
                                         "like approval.*, repeated or separated by commas; got "
                                         f"{value[:80]!r}")
        actions.extend(value.split(","))
    actor = params.get("actor")
    if actor is not None and not _match(_actor, actor):
        raise BadParameter("actor", "expected who acted (a Slack user ID like U01ABC, or "
                                    "countersign): 1 to 64 characters, no control characters")
    entity_type = entity_id = None
    if (entity := params.get("entity")) is not None:
        if len(entity) > ENTITY_MAX or not _match(_entity, entity):
            raise BadParameter("entity", f"expected KIND:ID like request:42 or incident:7 (at most "
                                         f"{ENTITY_MAX} characters, no control characters)")
        try:
            entity_type, entity_id = parse_entity(entity)
        except FilterError as exc:
            raise BadParameter("entity", str(exc)) from None
    return EventsQuery(
        AuditFilter(since=_moment_param(params, "since", now), until=_moment_param(params, "until", now),
                    after_seq=_int_param(params, "after_seq", _seq, 0, MAX_SEQ, None),
                    actions=tuple(actions), actor=actor, entity_type=entity_type,
                    entity_id=entity_id),
        limit=_int_param(params, "limit", _limit, 1, MAX_LIMIT, DEFAULT_LIMIT) or DEFAULT_LIMIT)


def _line(record: dict[str, Any]) -> bytes:
    # ASCII, every other character escaped: a line then never holds U+2028, U+2029 or NEL, which
    # line readers other than NDJSON's (Python's splitlines, JavaScript before ES2019) split at.
    return (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def checkpoint_body(cp: AuditCheckpoint) -> dict[str, Any]:
    return {"size": cp.size, "root_hash": cp.root_hash, "at": timestamp(cp.at), "note": cp.note,
            "key_name": cp.key_name, "key_id": cp.key_id, "signed": cp.key_id is not None,
            "witnessed_at": timestamp(cp.witnessed_at) if cp.witnessed_at else None}


def audit_routes(services: Services, auth: ApiAuth) -> list[Route]:
    db = services.db

    def first_seqs(flt: AuditFilter, count: int) -> list[int]:
        """The seqs of the first `count` matching events: where this response ends, and whether
        more follow, known before the first line is sent (headers go first)."""
        with db.session() as s:
            return list(s.scalars(select(AuditEvent.seq).where(*flt.conditions())
                                  .order_by(AuditEvent.seq).limit(count)))

    def read_page(flt: AuditFilter, after: int | None, last: int) -> list[dict[str, Any]]:
        with db.session() as s:
            stmt = (select(AuditEvent)
                    .where(*AuditFilter(**{**flt.__dict__, "after_seq": after}).conditions(),
                           AuditEvent.seq <= last)
                    .order_by(AuditEvent.seq).limit(PAGE))
            return [event_record(e) for e in s.scalars(stmt)]

    async def lines(flt: AuditFilter, last: int) -> AsyncIterator[bytes]:
        after = flt.after_seq
        while True:
            records = await db.run(read_page, flt, after, last)
            if records:
                yield b"".join(_line(r) for r in records)
            if len(records) < PAGE or records[-1]["seq"] >= last:
                return
            after = records[-1]["seq"]

    async def events(request: Request) -> Response:
        caller = await auth.require(request, SCOPE)
        if isinstance(caller, Response):
            return caller
        try:
            query = events_query(request.query_params, now=services.clock.now())
        except BadParameter as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        flt = query.filter
        seqs = await db.run(first_seqs, flt, query.limit + 1)
        served, more = seqs[:query.limit], len(seqs) > query.limit
        headers = {"Cache-Control": "no-store"}
        following = served[-1] if served else flt.after_seq
        if following is not None:
            headers["X-Next-After-Seq"] = str(following)
        if more:
            params = [(k, v) for k, v in request.query_params.multi_items() if k != "after_seq"]
            next_url = f"{request.url.path}?{urlencode([*params, ('after_seq', str(following))])}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        if not served:
            return Response(b"", media_type=NDJSON, headers=headers)
        return StreamingResponse(lines(flt, served[-1]), media_type=NDJSON, headers=headers)

    async def checkpoint(request: Request) -> Response:
        caller = await auth.require(request, SCOPE)
        if isinstance(caller, Response):
            return caller

        def latest() -> dict[str, Any] | None:
            with db.session() as s:
                cp = s.scalars(select(AuditCheckpoint)
                               .order_by(AuditCheckpoint.size.desc()).limit(1)).first()
                return checkpoint_body(cp) if cp is not None else None

        body = await db.run(latest)
        if body is None:
            return JSONResponse({"error": "no checkpoint yet: the log writes its first one once "
                                          "events have been sealed"}, status_code=404,
                                headers={"Cache-Control": "no-store"})
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def proof(request: Request) -> Response:
        caller = await auth.require(request, SCOPE)
        if isinstance(caller, Response):
            return caller
        text = request.query_params.get("seq", "")
        if not _match(_seq, text):
            return JSONResponse({"error": "seq must be a sequence number (digits only)"},
                                status_code=400)
        if int(text) > MAX_SEQ:  # well formed, but beyond any seq the log can hold
            return JSONResponse({"error": f"no sealed event has seq {text}"}, status_code=404,
                                headers={"Cache-Control": "no-store"})

        def prove() -> dict[str, Any]:
            with snapshot(db.engine) as conn:
                return proofs.prove(conn, int(text))

        try:
            doc = await db.run(prove)
        except proofs.ProofError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404,
                                headers={"Cache-Control": "no-store"})
        return JSONResponse(doc, headers={"Cache-Control": "no-store"})

    return [Route("/api/v1/audit/events", events, methods=["GET"]),
            Route("/api/v1/audit/checkpoint", checkpoint, methods=["GET"]),
            Route("/api/v1/audit/proof", proof, methods=["GET"])]

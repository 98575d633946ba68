"""AI usage in: OTLP/HTTP traces (`/v1/traces`), LiteLLM's logging callback
(`/api/v1/ingest/litellm`) and the native batch API (`/api/v1/ai-events`), all with scope `ingest`.

Each route admits the request (bot/ingest_http.py), reads it into Observations on a database
thread (parsing megabytes of protobuf is no work for the event loop that acknowledges Slack),
and stores the batch in one transaction. OTLP answers in the encoding it was asked in, as its
spec says: an ExportTraceServiceResponse whose `partialSuccess` counts the GenAI spans that
were rejected and says why; failures as a google.rpc.Status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import ingest_http, metrics
from bot.api_auth import ApiAuth
from bot.ingest_http import Admission, Refused
from services.usage import litellm, native, otlp, store
from services.usage.event import Observation, Rejected

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("countersign.ingest")

SCOPE = "ingest"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# Rejections named in one answer: enough to fix a sender, never a response the size of the batch.
REASONS_SHOWN = 5
# google.rpc.Code, as OTLP answers carry it.
_GRPC = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 429: 14}


def _retry_later() -> Refused:
    return Refused(429, "the database did not take the batch; retry later",
                   {"Retry-After": str(ingest_http.RETRY_AFTER_SECONDS)})


def _otlp_answer(status: int, message: str, *, as_json: bool,
                 headers: dict[str, str] | None = None) -> Response:
    failure = Status(code=_GRPC.get(status, 2), message=message)
    if as_json:
        return Response(json_format.MessageToJson(failure, indent=None), status_code=status,
                        media_type=JSON, headers=headers)
    return Response(failure.SerializeToString(), status_code=status, media_type=PROTOBUF,
                    headers=headers)


def _refusal_text(response: Response) -> str:
    try:
        return str(json.loads(bytes(response.body))["error"])
    except (ValueError, KeyError, TypeError):
        return "refused"


def usage_routes(services: Services, auth: ApiAuth) -> list[Route]:
    settings = services.settings
    admission = Admission(settings.ingest_concurrency, settings.ingest_queue)

    async def keep(source: str, caller: str, read: Callable[[], tuple[list[Observation], int]]
                   ) -> tuple[store.Stored, int]:
        """Read and store on a database thread: what was stored, and how many were rejected."""

        def work() -> tuple[store.Stored, int]:
            observations, rejected = read()
            usage = services.playbook.current.playbook.usage
            with services.db.session() as s:
                return store.store(s, observations, source=source, ingested_by=caller,
                                   now=services.clock.now(), rejected=rejected,
                                   usage=usage), rejected

        try:
            stored, rejected = await services.db.run(work)
        except DBAPIError as exc:
            log.warning("ingest %s from %s: the database refused the batch: %s", source, caller,
                        str(exc).splitlines()[0][:200])
            raise _retry_later() from None
        metrics.USAGE_EVENTS.labels(source, "accepted").inc(stored.accepted)
        metrics.USAGE_EVENTS.labels(source, "duplicate").inc(stored.duplicates)
        metrics.USAGE_EVENTS.labels(source, "rejected").inc(rejected)
        log.info("ingest %s from %s: %d accepted, %d duplicates, %d rejected", source, caller,
                 stored.accepted, stored.duplicates, rejected)
        return stored, rejected

    async def traces(request: Request) -> Response:
        kind = ingest_http.media_type(request)
        as_json = kind == JSON
        if kind not in (PROTOBUF, JSON):
            return _otlp_answer(415, f"Content-Type {kind[:60]!r} is not OTLP: send "
                                     f"{PROTOBUF} or {JSON}", as_json=True)
        caller = await auth.require(request, SCOPE)
        if isinstance(caller, Response):
            return _otlp_answer(caller.status_code, _refusal_text(caller), as_json=as_json,
                                headers={k: v for k, v in caller.headers.items()
                                         if k.lower() == "www-authenticate"})
        reasons: list[str] = []
        try:
            async with admission.slot():
                body = await ingest_http.body(request, settings.ingest_max_bytes)

                def read() -> tuple[list[Observation], int]:
                    try:
                        outcome = otlp.read(otlp.parse(body, json_encoded=as_json))
                    except otlp.Malformed as exc:
                        raise Refused(400, str(exc)) from None
                    reasons.extend(outcome.rejected)
                    return outcome.observations, len(outcome.rejected)

                _, rejected = await keep("otlp", caller.name, read)
        except Refused as refused:
            return _otlp_answer(refused.status, refused.message, as_json=as_json,
                                headers=refused.headers)
        answer = ExportTraceServiceResponse()
        if rejected:
            shown = "; ".join(reasons[:REASONS_SHOWN])
            more = f" (and {len(reasons) - REASONS_SHOWN} more)" if len(reasons) > REASONS_SHOWN else ""
            answer.partial_success.CopyFrom(ExportTracePartialSuccess(
                rejected_spans=rejected, error_message=f"{rejected} GenAI spans rejected: "
                                                       f"{shown}{more}"))
        if as_json:
            return Response(json_format.MessageToJson(answer, indent=None), media_type=JSON)
        return Response(answer.SerializeToString(), media_type=PROTOBUF)

    async def batch_route(request: Request, source: str,
                          read_body: Callable[[bytes], tuple[list[Observation], list[dict[str, Any]]]],
                          media: tuple[str, ...]) -> Response:
        kind = ingest_http.media_type(request)
        if kind not in media:
            return JSONResponse({"error": f"Content-Type {kind[:60]!r} is not taken here: send "
                                          f"{' or '.join(media)}"}, status_code=415)
        caller = await auth.require(request, SCOPE)
        if isinstance(caller, Response):
            return caller
        problems: list[dict[str, Any]] = []
        try:
            async with admission.slot():
                body = await ingest_http.body(request, settings.ingest_max_bytes)

                def read() -> tuple[list[Observation], int]:
                    kept, bad = read_body(body)
                    problems.extend(bad)
                    return kept, len({p["index"] for p in bad})

                stored, rejected = await keep(source, caller.name, read)
        except Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status,
                                headers=refused.headers)
        answer = {"accepted": stored.accepted, "duplicates": stored.duplicates,
                  "rejected": rejected}
        if problems:
            return JSONResponse({**answer, "error": f"{rejected} events were not kept; the "
                                                    "others were", "errors": problems},
                                status_code=400)
        return JSONResponse(answer)

    def read_native(body: bytes) -> tuple[list[Observation], list[dict[str, Any]]]:
        try:
            kept, problems = native.batch(body)
        except native.BatchError as exc:
            raise Refused(400, str(exc)) from None
        return kept, [p.as_dict() for p in problems]

    def read_litellm(body: bytes) -> tuple[list[Observation], list[dict[str, Any]]]:
        try:
            records = litellm.records(body)
        except litellm.BodyError as exc:
            raise Refused(400, str(exc)) from None
        kept: list[Observation] = []
        problems: list[dict[str, Any]] = []
        for index, record in enumerate(records):
            try:
                kept.append(litellm.observation(record))
            except Rejected as exc:
                problems.append({"index": index, "field": exc.field, "message": exc.reason})
        return kept, problems

    async def ai_events(request: Request) -> Response:
        return await batch_route(request, "native", read_native, (JSON,))

    async def litellm_logs(request: Request) -> Response:
        return await batch_route(request, "litellm", read_litellm,
                                 (JSON, "application/x-ndjson", "application/jsonl"))

    return [Route("/v1/traces", traces, methods=["POST"]),
            Route("/api/v1/ai-events", ai_events, methods=["POST"]),
            Route("/api/v1/ingest/litellm", litellm_logs, methods=["POST"])]

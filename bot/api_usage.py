"""AI usage in: OTLP/HTTP traces (`/v1/traces`), LiteLLM's logging callback
(`/api/v1/ingest/litellm`) and the native batch API (`/api/v1/ai-events`), all with scope `ingest`.

Each route admits the request (bot/ingest_http.py), reads its body, and hands the batch to the
ingestion workers (bot/ingest_workers.py), which read and store it in one transaction. OTLP
answers in the encoding it was asked in, as its spec says: an ExportTraceServiceResponse whose
`partialSuccess` counts the GenAI spans that were rejected and says why; failures as a
google.rpc.Status.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures.process import BrokenProcessPool
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
from bot.ingest_workers import IngestWorkers, Refusal
from services.usage.batches import Batch, Outcome

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
WORKERS = "ingest_workers"  # in Services.extras, closed with the server


def _retry_later(why: str) -> Refused:
    return Refused(429, f"{why}; retry later",
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
    workers = IngestWorkers(services.db, settings.database_url, settings.ingest_processes)
    services.extras[WORKERS] = workers

    async def keep(request: Request, source: str, caller: str, *,
                   json_encoded: bool = False) -> Outcome:
        """The request's batch read and stored; Refused when it cannot be."""
        async with admission.slot():
            body = await ingest_http.body(request, settings.ingest_max_bytes)
            batch = Batch(source=source, body=body, json_encoded=json_encoded,
                          ingested_by=caller, now=services.clock.now(),
                          usage=services.playbook.current.playbook.usage)
            try:
                outcome = await workers.ingest(batch)
            except DBAPIError as exc:
                log.warning("ingest %s from %s: the database refused the batch: %s", source,
                            caller, str(exc).splitlines()[0][:200])
                raise _retry_later("the database did not take the batch") from None
            except BrokenProcessPool:
                raise _retry_later("the batch was lost with its worker") from None
        if isinstance(outcome, Refusal):
            raise Refused(400, outcome.message)
        metrics.USAGE_EVENTS.labels(source, "accepted").inc(outcome.accepted)
        metrics.USAGE_EVENTS.labels(source, "duplicate").inc(outcome.duplicates)
        metrics.USAGE_EVENTS.labels(source, "rejected").inc(outcome.rejected)
        log.info("ingest %s from %s: %d accepted, %d duplicates, %d rejected", source, caller,
                 outcome.accepted, outcome.duplicates, outcome.rejected)
        return outcome

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
        try:
            outcome = await keep(request, "otlp", caller.name, json_encoded=as_json)
        except Refused as refused:
            return _otlp_answer(refused.status, refused.message, as_json=as_json,
                                headers=refused.headers)
        answer = ExportTraceServiceResponse()
        if outcome.rejected:
            reasons = outcome.reasons
            shown = "; ".join(reasons[:REASONS_SHOWN])
            more = f" (and {len(reasons) - REASONS_SHOWN} more)" if len(reasons) > REASONS_SHOWN else ""
            answer.partial_success.CopyFrom(ExportTracePartialSuccess(
                rejected_spans=outcome.rejected,
                error_message=f"{outcome.rejected} GenAI spans rejected: {shown}{more}"))
        if as_json:
            return Response(json_format.MessageToJson(answer, indent=None), media_type=JSON)
        return Response(answer.SerializeToString(), media_type=PROTOBUF)

    async def batch_route(request: Request, source: str, media: tuple[str, ...]) -> Response:
        kind = ingest_http.media_type(request)
        if kind not in media:
            return JSONResponse({"error": f"Content-Type {kind[:60]!r} is not taken here: send "
                                          f"{' or '.join(media)}"}, status_code=415)
        caller = await auth.require(request, SCOPE)
        if isinstance(caller, Response):
            return caller
        try:
            outcome = await keep(request, source, caller.name)
        except Refused as refused:
            return JSONResponse({"error": refused.message}, status_code=refused.status,
                                headers=refused.headers)
        answer: dict[str, Any] = {"accepted": outcome.accepted, "duplicates": outcome.duplicates,
                                  "rejected": outcome.rejected}
        if outcome.problems:
            return JSONResponse({**answer, "error": f"{outcome.rejected} events were not kept; "
                                                    "the others were",
                                 "errors": outcome.problems}, status_code=400)
        return JSONResponse(answer)

    async def ai_events(request: Request) -> Response:
        return await batch_route(request, "native", (JSON,))

    async def litellm_logs(request: Request) -> Response:
        return await batch_route(request, "litellm",
                                 (JSON, "application/x-ndjson", "application/jsonl"))

    return [Route("/v1/traces", traces, methods=["POST"]),
            Route("/api/v1/ai-events", ai_events, methods=["POST"]),
            Route("/api/v1/ingest/litellm", litellm_logs, methods=["POST"])]

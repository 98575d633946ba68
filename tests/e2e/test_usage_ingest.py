"""AI usage reaching the running bot the way stacks send it: the OpenTelemetry SDK's own OTLP/HTTP
exporters (protobuf and JSON, plain and gzip) export GenAI spans to /v1/traces; LiteLLM's
callback shapes and the native batch API post to theirs. Each test reads what landed in the
database: the response to an export comes after its batch committed."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JsonExporter
from opentelemetry.exporter.otlp.common.http import Compression as JsonCompression
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as ProtoExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from sqlalchemy import func, select

from models.audit import AuditEvent
from models.usage import UsageEvent
from tests.e2e.usage_support import made_tokens

MAX_BYTES = 64 * 1024
PROMPT = "Summarise the ticket from jane.doe@example.com, card 4111 1111 1111 1111."

pytestmark = pytest.mark.e2e


@pytest.fixture
def ingest(bot_factory, db):  # noqa: ANN001, ANN201
    made = made_tokens(db, "ingest", "gate")
    bot = bot_factory(CLOCK_IN_WEB="false", INGEST_MAX_BYTES=str(MAX_BYTES)).start()
    return bot, made


def events(db) -> list[UsageEvent]:  # noqa: ANN001
    with db.session() as s:
        return list(s.scalars(select(UsageEvent).order_by(UsageEvent.id)))


class Recording:
    """An SDK exporter that also keeps the export's result (SimpleSpanProcessor drops it)."""

    def __init__(self, exporter) -> None:  # noqa: ANN001
        self.exporter, self.results = exporter, []

    def export(self, spans):  # noqa: ANN001, ANN201
        result = self.exporter.export(spans)
        self.results.append(result)
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def export_chat(exporter, *, user: str = "U0ALICE", model: str = "gpt-4o-mini") -> Recording:  # noqa: ANN001
    recording = Recording(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(recording))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model, "gen_ai.response.model": f"{model}-2024-07-18",
            "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 42,
            "user.id": user, "countersign.use_case": "UC-12",
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "Done."}]}]),
        })
    with tracer.start_as_current_span("GET /tickets"):  # not a GenAI span: ignored
        pass
    provider.shutdown()
    return recording


@pytest.mark.parametrize("kind", ["protobuf", "protobuf+gzip", "json", "json+gzip"])
def test_sdk_exporters_land_genai_spans(ingest, db, kind) -> None:  # noqa: ANN001
    bot, made = ingest
    headers = {"Authorization": f"Bearer {made['ingest']}"}
    as_json = kind.startswith("json")
    compression = ((JsonCompression.GZIP if as_json else Compression.Gzip)
                   if kind.endswith("gzip") else None)
    cls = JsonExporter if as_json else ProtoExporter
    recording = export_chat(cls(endpoint=f"{bot.url}/v1/traces", headers=headers,
                                compression=compression))
    assert recording.results == [SpanExportResult.SUCCESS, SpanExportResult.SUCCESS]
    [event] = events(db)
    assert (event.source, event.operation, event.provider, event.model, event.request_model) == (
        "otlp", "chat", "openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini")
    assert (event.service, event.user_id, event.use_case) == ("support-bot", "U0ALICE", "UC-12")
    assert (event.input_tokens, event.output_tokens, event.ingested_by) == (120, 42, "ingest-token")
    assert event.key == f"otlp:{event.trace_id}:{event.span_id}" and len(event.trace_id) == 32
    assert event.keep == "excerpt" and len(event.input_digest) == 64
    assert "jane.doe@example.com" not in event.input_text
    assert "4111 1111 1111 1111" not in event.input_text
    assert event.redactions == {"email": 1, "card": 1}
    assert event.output_text == "assistant: Done."
    with db.session() as s:
        audited = s.scalars(select(AuditEvent).where(AuditEvent.action == "usage.ingested")).all()
    assert [(a.actor, a.payload["accepted"], a.payload["source"]) for a in audited] == [
        ("ingest-token", 1, "otlp")]


def test_a_retried_export_is_taken_once(ingest, db) -> None:  # noqa: ANN001
    bot, made = ingest
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "batch-job"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "chat", "startTimeUnixNano": "1764579600000000000",
            "endTimeUnixNano": "1764579601000000000", "kind": 3,
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "claude-sonnet-4"}},
                           {"key": "gen_ai.system", "value": {"stringValue": "anthropic"}},
                           {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "7"}}],
            "aFieldFromTheFuture": {"x": 1}}]}]}]}
    for _ in range(3):
        answer = httpx.post(f"{bot.url}/v1/traces", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {made['ingest']}"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
    [event] = events(db)
    assert (event.model, event.provider, event.input_tokens, event.service) == (
        "claude-sonnet-4", "anthropic", 7, "batch-job")
    assert event.started_at == datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def test_partial_success_counts_rejected_genai_spans(ingest, db) -> None:  # noqa: ANN001
    bot, made = ingest

    def span(span_id: str, attributes: list[dict]) -> dict:
        return {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": span_id, "name": "s",
                "startTimeUnixNano": "1764579600000000000", "attributes": attributes}

    model = {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        span("00f067aa0ba902b1", [model]),
        span("00f067aa0ba902b2", [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]),
        span("00f067aa0ba902b3", [model, {"key": "gen_ai.usage.input_tokens",
                                          "value": {"intValue": "-4"}}]),
        span("00f067aa0ba902b4", [{"key": "gen_ai.operation.name",
                                   "value": {"stringValue": "execute_tool"}}]),
        span("00f067aa0ba902b5", [{"key": "http.method", "value": {"stringValue": "GET"}}]),
    ]}]}]}
    answer = httpx.post(f"{bot.url}/v1/traces", json=body, timeout=30,
                        headers={"Authorization": f"Bearer {made['ingest']}"})
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"  # int64: a string in OTLP/JSON
    assert "gen_ai.request.model" in partial["errorMessage"]
    assert "gen_ai.usage.input_tokens" in partial["errorMessage"]
    assert [e.span_id for e in events(db)] == ["00f067aa0ba902b1"]


def test_refusals_say_why_and_keep_nothing(ingest, db) -> None:  # noqa: ANN001
    bot, made = ingest
    url = f"{bot.url}/v1/traces"
    proto = {"Content-Type": "application/x-protobuf"}
    auth = {"Authorization": f"Bearer {made['ingest']}"}

    def post(body: bytes, headers: dict) -> httpx.Response:
        return httpx.post(url, content=body, headers=headers, timeout=30)

    missing = post(b"", proto)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"] == "application/x-protobuf"
    assert post(b"", {**proto, "Authorization": "Bearer nope"}).status_code == 401
    denied = post(b"", {**proto, "Authorization": f"Bearer {made['gate']}"})
    assert denied.status_code == 403
    assert post(b"\xff\xff\xff", {**proto, **auth}).status_code == 400
    bad_json = post(b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
                    {"Content-Type": "application/json", **auth})
    assert bad_json.status_code == 400 and "traceId" in bad_json.json()["message"]
    assert post(b"x", {"Content-Type": "text/plain", **auth}).status_code == 415
    assert post(b"x", {**proto, **auth, "Content-Encoding": "br"}).status_code == 415
    too_big = post(b"\0" * (MAX_BYTES + 1), {**proto, **auth})
    assert too_big.status_code == 413
    assert "INGEST_MAX_BYTES" in Status.FromString(too_big.content).message
    bomb = gzip.compress(b"\0" * (MAX_BYTES * 20))
    assert len(bomb) < MAX_BYTES
    assert post(bomb, {**proto, **auth, "Content-Encoding": "gzip"}).status_code == 413
    assert post(b"not gzip", {**proto, **auth, "Content-Encoding": "gzip"}).status_code == 400
    assert events(db) == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "usage.ingested")) == 0


def test_huge_attribute_values_are_bounded(ingest, db) -> None:  # noqa: ANN001
    bot, made = ingest
    prompt = "lorem ipsum " * 4000  # 48 KB of content, one event
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00f067aa0ba902b7",
         "name": "chat", "startTimeUnixNano": "1764579600000000000",
         "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                        {"key": "gen_ai.prompt", "value": {"stringValue": prompt}}]},
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00f067aa0ba902b8",
         "name": "chat", "startTimeUnixNano": "1764579600000000000",
         "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m" * 5000}}]},
    ]}]}]}
    answer = httpx.post(f"{bot.url}/v1/traces", json=body, timeout=30,
                        headers={"Authorization": f"Bearer {made['ingest']}"})
    assert answer.status_code == 200
    assert answer.json()["partialSuccess"]["rejectedSpans"] == "1"
    [event] = events(db)
    assert len(event.input_text) <= 500 and event.input_text.startswith("lorem ipsum")

"""OTLP spans read into Observations: the GenAI conventions' current and older names, content
in attributes and in span events, what is ignored and what is rejected with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from services.usage import otlp

START = 1764579600_000_000_000  # 2025-12-01T09:00:00Z
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")


def value(v: object) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[value(x) for x in v]))
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=value(x))
                                                          for k, x in v.items()]))
    return AnyValue(string_value=str(v))


def attrs(**pairs: object) -> list[KeyValue]:
    return [KeyValue(key=k.replace("__", "."), value=value(v)) for k, v in pairs.items()]


def span(n: int = 1, events: list[Span.Event] | None = None, **pairs: object) -> Span:
    return Span(trace_id=TRACE, span_id=n.to_bytes(8, "big"), name="chat",
                start_time_unix_nano=START, end_time_unix_nano=START + 1_500_000_000,
                attributes=attrs(**pairs), events=events or [])


def request(*spans: Span, **resource: object) -> ExportTraceServiceRequest:
    rs = ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])
    rs.resource.attributes.extend(attrs(**resource))
    return ExportTraceServiceRequest(resource_spans=[rs])


def read_one(*spans: Span, **resource: object):  # noqa: ANN201
    outcome = otlp.read(request(*spans, **resource))
    assert outcome.rejected == []
    [found] = outcome.observations
    return found


def test_current_conventions() -> None:
    found = read_one(span(**{
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5,
        "enduser.id": "alice", "gen_ai.system_instructions": json.dumps(
            [{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
            {"type": "text", "content": "Hello"}], "finish_reason": "stop"}]),
    }), **{"service.name": "helpdesk", "countersign.use_case": "UC-4"})
    assert (found.operation, found.provider, found.model, found.request_model) == (
        "chat", "openai", "gpt-4o-2024-08-06", "gpt-4o")
    assert (found.user, found.service, found.use_case) == ("alice", "helpdesk", "UC-4")
    assert (found.input_tokens, found.output_tokens) == (10, 5)
    assert found.input_text == "Be brief.\nuser: Hi"
    assert found.output_text == "assistant: Hello"
    assert found.started_at == datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
    assert found.ended_at == datetime(2025, 12, 1, 9, 0, 1, 500000, tzinfo=UTC)
    assert found.key == f"otlp:{TRACE.hex()}:0000000000000001"


def test_older_names_and_events() -> None:
    events = [Span.Event(name="gen_ai.content.prompt", attributes=attrs(gen_ai__prompt="Q?")),
              Span.Event(name="gen_ai.content.completion", attributes=attrs(gen_ai__completion="A."))]
    found = read_one(span(events=events, **{
        "gen_ai.system": "anthropic", "gen_ai.request.model": "claude-3-5-haiku",
        "gen_ai.usage.prompt_tokens": 3, "gen_ai.usage.completion_tokens": 4}))
    assert (found.provider, found.input_tokens, found.output_tokens) == ("anthropic", 3, 4)
    assert (found.input_text, found.output_text) == ("Q?", "A.")


def test_per_message_events_and_openllmetry_attributes() -> None:
    events = [Span.Event(name="gen_ai.system.message", attributes=attrs(content="Rules")),
              Span.Event(name="gen_ai.user.message", attributes=attrs(content="Ask")),
              Span.Event(name="gen_ai.choice", attributes=attrs(
                  index=0, message={"role": "assistant", "content": "Answer"}))]
    found = read_one(span(events=events, gen_ai__request__model="m"))
    assert found.input_text == "system: Rules\nuser: Ask"
    assert found.output_text == "assistant: Answer"
    flat = read_one(span(**{"gen_ai.request.model": "m", "gen_ai.prompt.1.role": "user",
                            "gen_ai.prompt.1.content": "second", "gen_ai.prompt.0.role": "system",
                            "gen_ai.prompt.0.content": "first",
                            "gen_ai.completion.0.content": "done"}))
    assert (flat.input_text, flat.output_text) == ("system: first\nuser: second", "done")


def test_span_attributes_win_over_the_resource_and_errors_are_kept() -> None:
    failed = span(gen_ai__request__model="m", user__id="span-user", error__type="timeout")
    failed.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="deadline"))
    found = read_one(failed, **{"user.id": "resource-user", "service.name": "svc"})
    assert (found.user, found.error) == ("span-user", "timeout")


def test_ignored_and_rejected() -> None:
    outcome = otlp.read(request(
        span(1, http__method="GET"),
        span(2, gen_ai__operation__name="execute_tool", gen_ai__tool__name="search"),
        span(3, gen_ai__operation__name="chat"),
        span(4, gen_ai__request__model="m", gen_ai__usage__input_tokens=-1),
        span(5, gen_ai__request__model="m" * 201),
        span(6, gen_ai__request__model="ok\x00"),
        span(7, gen_ai__request__model="m", gen_ai__usage__output_tokens=True),
        span(8, gen_ai__request__model="m"),
    ))
    assert outcome.ignored == 2
    assert [o.span_id for o in outcome.observations] == ["0000000000000008"]
    fields = [r.split(": ", 2)[1] for r in outcome.rejected]
    assert fields == ["attributes.gen_ai.request.model", "attributes.gen_ai.usage.input_tokens",
                      "attributes.gen_ai.request.model", "attributes.gen_ai.request.model",
                      "attributes.gen_ai.usage.output_tokens"]


@pytest.mark.parametrize("broken, field", [
    ({"trace_id": b""}, "traceId"), ({"span_id": bytes(8)}, "spanId"),
    ({"start_time_unix_nano": 0}, "startTimeUnixNano"),
    ({"start_time_unix_nano": 5}, "startTimeUnixNano"),  # 1970
    ({"end_time_unix_nano": START - 1}, "endTimeUnixNano"),
])
def test_span_identity_and_times(broken: dict, field: str) -> None:
    s = span(gen_ai__request__model="m")
    for name, v in broken.items():
        setattr(s, name, v)
    outcome = otlp.read(request(s))
    assert outcome.observations == [] and len(outcome.rejected) == 1
    assert outcome.rejected[0].split(": ", 2)[1] == field


def test_json_encoding_reads_hex_ids_and_string_integers() -> None:
    message = request(span(9, gen_ai__request__model="m", gen_ai__usage__input_tokens=2**40 % 2**31))
    document = json_format.MessageToDict(message)
    s = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    s["traceId"], s["spanId"] = TRACE.hex(), (9).to_bytes(8, "big").hex()
    s["unknownField"] = [1, 2]
    assert isinstance(s["startTimeUnixNano"], str)
    parsed = otlp.parse(json.dumps(document).encode(), json_encoded=True)
    assert parsed == message


@pytest.mark.parametrize("body, says", [
    (b"[]", "ExportTraceServiceRequest"), (b"{", "not JSON"),
    (b'{"resourceSpans": {}}', "resourceSpans: expected an array"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "abc"}]}]}]}', "spanId"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": {"a": 1}}]}]}]}', "OTLP"),
])
def test_malformed_json(body: bytes, says: str) -> None:
    with pytest.raises(otlp.Malformed, match=says):
        otlp.parse(body, json_encoded=True)


def test_malformed_protobuf() -> None:
    with pytest.raises(otlp.Malformed):
        otlp.parse(b"\x0a\xff\xff\xff\xff\x0f", json_encoded=False)

"""OTLP/HTTP trace exports read into Observations: the GenAI spans kept, the rest ignored.

Both encodings become one protobuf message: OTLP/JSON is protobuf's JSON mapping with two
exceptions the spec makes (trace and span ids are hex, not base64; unknown fields are
ignored), so the ids are re-spelled and protobuf's own parser reads the rest, 64-bit integers
as strings and enums as numbers included.

A span is a GenAI span when it carries a `gen_ai.*` attribute. One that calls a model but
cannot be kept (no model, no start time, a value out of range) is rejected with its reason,
counted in the answer's `partialSuccess`; the other spans of the request are kept.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from services.usage import content
from services.usage.event import (NAME_MAX, Observation, Rejected, checked_cost, checked_count,
                                  checked_moment, checked_name)

# Operations that call no model themselves: a span of one without a model is not a rejection.
NOT_MODEL_CALLS = frozenset({"execute_tool", "invoke_agent", "create_agent"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Values shown beside an event (bounded like any name).
SHOWN = ("server.address", "gen_ai.response.finish_reasons", "gen_ai.request.temperature")
_PROMPT_EVENTS = frozenset({"gen_ai.system.message", "gen_ai.user.message", "gen_ai.tool.message",
                            "gen_ai.assistant.message"})


class Malformed(ValueError):
    """The request is not an OTLP trace export at all (answered 400)."""


@dataclass
class Outcome:
    observations: list[Observation] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one reason per rejected span
    ignored: int = 0  # spans without GenAI attributes, and agent/tool spans without a model


def _respell_ids(span: dict[str, Any], where: str) -> None:
    for name, width in (("traceId", 32), ("spanId", 16), ("parentSpanId", 16)):
        value = span.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) != width:
            raise Malformed(f"{where}.{name}: expected {width} hex digits")
        try:
            span[name] = base64.b64encode(bytes.fromhex(value)).decode()
        except ValueError:
            raise Malformed(f"{where}.{name}: expected {width} hex digits") from None


def _json_request(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Malformed("expected an ExportTraceServiceRequest object: {\"resourceSpans\": […]}")
    for r, resource in enumerate(_list(document, "resourceSpans", "")):
        for s, scope in enumerate(_list(resource, "scopeSpans", f"resourceSpans[{r}]")):
            where = f"resourceSpans[{r}].scopeSpans[{s}]"
            for i, span in enumerate(_list(scope, "spans", where)):
                if not isinstance(span, dict):
                    raise Malformed(f"{where}.spans[{i}]: expected an object")
                _respell_ids(span, f"{where}.spans[{i}]")
                for j, link in enumerate(_list(span, "links", f"{where}.spans[{i}]")):
                    if isinstance(link, dict):
                        _respell_ids(link, f"{where}.spans[{i}].links[{j}]")
    try:
        return json_format.ParseDict(document, ExportTraceServiceRequest(),
                                     ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise Malformed(f"not an OTLP trace export: {str(exc)[:300]}") from None


def _list(parent: Any, name: str, where: str) -> list[Any]:
    if not isinstance(parent, dict):
        raise Malformed(f"{where or 'the body'}: expected an object")
    value = parent.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{(where + '.') if where else ''}{name}: expected an array")
    return value


def parse(body: bytes, *, json_encoded: bool) -> ExportTraceServiceRequest:
    if json_encoded:
        return _json_request(body)
    try:
        return ExportTraceServiceRequest.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise Malformed(f"not an OTLP trace export in protobuf: {exc}") from None


def value_of(value: AnyValue, depth: int = 0) -> Any:
    kind = value.WhichOneof("value")
    if kind is None or depth > 8:
        return None
    if kind == "array_value":
        return [value_of(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, AnyValue]:
    # Only the values asked for are converted: content can be megabytes nobody needs as Python.
    return {kv.key: kv.value for kv in pairs}


def _name(attrs: dict[str, AnyValue], *keys: str) -> str | None:
    for key in keys:
        if key in attrs:
            found = checked_name(value_of(attrs[key]), f"attributes.{key}")
            if found is not None:
                return found
    return None


def _count(attrs: dict[str, AnyValue], *keys: str) -> int | None:
    for key in keys:
        if key not in attrs:
            continue
        value = value_of(attrs[key])
        if isinstance(value, str) and value.isdigit():  # some SDKs send counts as strings
            value = int(value)
        return checked_count(value, f"attributes.{key}")
    return None


def _cost(attrs: dict[str, AnyValue]) -> float | None:
    if "gen_ai.usage.cost" not in attrs:
        return None
    return checked_cost(value_of(attrs["gen_ai.usage.cost"]), "attributes.gen_ai.usage.cost")


def _moment(nanos: int, name: str) -> datetime:
    try:  # whole microseconds: a float of nanoseconds since 1970 is off by hundreds of them
        moment = _EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        raise Rejected(name, "not a time") from None
    return checked_moment(moment, name)


def _indexed(attrs: dict[str, AnyValue], prefix: str) -> str | None:
    """OpenLLMetry's flattened messages: gen_ai.prompt.0.role / gen_ai.prompt.0.content, …"""
    lines: list[tuple[int, str]] = []
    for key, value in attrs.items():
        if key.startswith(prefix) and key.endswith(".content"):
            index = key[len(prefix):-len(".content")]
            if index.isdigit():
                text = value_of(value)
                role = value_of(attrs.get(f"{prefix}{index}.role", AnyValue()))
                if isinstance(text, str):
                    lines.append((int(index), f"{role}: {text}" if isinstance(role, str) else text))
    return "\n".join(text for _, text in sorted(lines)) if lines else None


def _content(span: Span, attrs: dict[str, AnyValue]) -> tuple[str | None, str | None]:
    def attr(source: dict[str, AnyValue], key: str) -> str | None:
        return content.flatten(value_of(source[key])) if key in source else None

    inputs = [attr(attrs, "gen_ai.system_instructions"), attr(attrs, "gen_ai.input.messages"),
              attr(attrs, "gen_ai.prompt"), _indexed(attrs, "gen_ai.prompt.")]
    outputs = [attr(attrs, "gen_ai.output.messages"), attr(attrs, "gen_ai.completion"),
               _indexed(attrs, "gen_ai.completion.")]
    for event in span.events:
        found = _attributes(event.attributes)
        if event.name == "gen_ai.content.prompt":
            inputs.append(attr(found, "gen_ai.prompt"))
        elif event.name == "gen_ai.content.completion":
            outputs.append(attr(found, "gen_ai.completion"))
        elif event.name in _PROMPT_EVENTS:
            role = event.name.split(".")[1]
            text = attr(found, "content")
            inputs.append(f"{role}: {text}" if text else None)
        elif event.name == "gen_ai.choice":
            outputs.append(attr(found, "message") or attr(found, "content"))
        elif event.name == "gen_ai.client.inference.operation.details":
            inputs.append(attr(found, "gen_ai.input.messages"))
            outputs.append(attr(found, "gen_ai.output.messages"))
    return content.joined(*inputs), content.joined(*outputs)


def observation(span: Span, resource: dict[str, AnyValue]) -> Observation | None:
    """The span as an Observation; None when it is not a model call (no GenAI attributes, or an
    agent or tool step naming no model); Rejected when it is one that cannot be kept."""
    attrs = _attributes(span.attributes)
    if not any(key.startswith("gen_ai.") for key in attrs):
        return None
    operation = _name(attrs, "gen_ai.operation.name")
    request_model = _name(attrs, "gen_ai.request.model")
    response_model = _name(attrs, "gen_ai.response.model")
    if request_model is None and response_model is None:
        if operation in NOT_MODEL_CALLS:
            return None
        raise Rejected("attributes.gen_ai.request.model",
                       "a GenAI span must name its model (gen_ai.request.model or "
                       "gen_ai.response.model)")
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise Rejected("traceId", "expected a 16-byte trace id, not all zeros")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise Rejected("spanId", "expected an 8-byte span id, not all zeros")
    if not span.start_time_unix_nano:
        raise Rejected("startTimeUnixNano", "missing")
    started = _moment(span.start_time_unix_nano, "startTimeUnixNano")
    ended = _moment(span.end_time_unix_nano, "endTimeUnixNano") if span.end_time_unix_nano else None
    if ended is not None and span.end_time_unix_nano < span.start_time_unix_nano:
        raise Rejected("endTimeUnixNano", "before startTimeUnixNano")
    both = {**resource, **attrs}  # a span's own attribute wins over its resource's
    error = None
    if span.status.code == Status.STATUS_CODE_ERROR:
        error = (_name(attrs, "error.type") or span.status.message[:500] or "error")
    input_text, output_text = _content(span, attrs)
    trace_id, span_id = binascii.hexlify(span.trace_id).decode(), span.span_id.hex()
    shown = {key: str(v)[:NAME_MAX] for key in SHOWN
             if key in attrs and (v := value_of(attrs[key])) is not None}
    if span.name:
        shown["span.name"] = span.name[:NAME_MAX]
    return Observation(
        key=f"otlp:{trace_id}:{span_id}",
        source="otlp",
        started_at=started,
        ended_at=ended,
        operation=operation,
        provider=_name(attrs, "gen_ai.provider.name", "gen_ai.system"),
        request_model=request_model,
        response_model=response_model,
        service=_name(resource, "service.name") or _name(attrs, "service.name"),
        user=_name(both, "user.id", "enduser.id"),
        team=_name(both, "countersign.team"),
        use_case=_name(both, "countersign.use_case"),
        input_tokens=_count(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        output_tokens=_count(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        cost_usd=_cost(attrs),
        input_text=input_text,
        output_text=output_text,
        error=error,
        trace_id=trace_id,
        span_id=span_id,
        attributes=shown,
    )


def spans(request: ExportTraceServiceRequest) -> Iterator[tuple[Span, dict[str, AnyValue]]]:
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield span, resource


def read(request: ExportTraceServiceRequest) -> Outcome:
    outcome = Outcome()
    for span, resource in spans(request):
        try:
            found = observation(span, resource)
        except Rejected as exc:
            outcome.rejected.append(f"span {span.span_id.hex() or '?'}: {exc}")
            continue
        if found is None:
            outcome.ignored += 1
        else:
            outcome.observations.append(found)
    return outcome

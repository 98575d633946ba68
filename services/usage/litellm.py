"""LiteLLM proxy logs read into Observations: the `generic_api` callback's StandardLoggingPayload.

The proxy is pointed here with a callback of `callback_type: generic_api` (its `endpoint`, or
GENERIC_LOGGER_ENDPOINT) and posts batches of `StandardLoggingPayload` records
(litellm/types/utils.py) in one of its `log_format`s: `json_array` (the default, `[{…}, {…}]`),
`ndjson` (one record per line) or `single` (one record per request). `records` reads all three
without being told which; `observation` maps one record. Nothing here imports litellm.

What a record says and where it goes: `id` is the key (`litellm:<id>`, the provider's response
id, or LiteLLM's call id when there is none); `startTime`/`endTime` are epoch seconds;
`call_type` names the operation (`acompletion` is chat); `custom_llm_provider`, `model` and the
response's own `model` name provider and models; who called comes from the virtual key's
metadata (its user, team and alias); `prompt_tokens`, `completion_tokens` and `response_cost`
are the usage; `messages` and `response` the content; `status: failure` with `error_str` /
`error_information` the error. A field named but of the wrong type, out of range, too long or
holding NUL rejects the record, naming the field; a field not read is ignored, and content of a
shape not known gives no text rather than a rejection.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from services.usage import content
from services.usage.event import (KEY_MAX, NAME_MAX, TOKENS_MAX, Observation, Rejected,
                                  checked_cost, checked_count, checked_moment, checked_name)

MAX_RECORDS = 1000
KEY_PREFIX = "litellm:"
ID_MAX = KEY_MAX - len(KEY_PREFIX)
_USE_CASE = re.compile(r"UC-[0-9]{1,6}")
# Where a caller names its use case: request metadata keys (`metadata.requester_metadata`,
# the `metadata` the client sent) and tag prefixes (`request_tags`: the request's
# `metadata.tags`, then LiteLLM's own "User-Agent: …" tags). The Countersign-prefixed spelling
# wins over the bare one.
_USE_CASE_KEYS = ("countersign.use_case", "use_case")
_USE_CASE_TAGS = ("countersign.use_case:", "use_case:")
# LiteLLM's call types (litellm.types.utils.CallTypes) as GenAI operation names where one
# exists; an async call type (`a` + the sync one) is the sync one. Others pass through as sent.
_OPERATIONS = {
    "completion": "chat", "acompletion": "chat",
    "embedding": "embeddings", "aembedding": "embeddings",
    "text_completion": "text_completion", "atext_completion": "text_completion",
    "image_generation": "image_generation", "aimage_generation": "image_generation",
    "aimage_edit": "image_edit", "amoderation": "moderation", "atranscription": "transcription",
    "aspeech": "speech", "arerank": "rerank", "asearch": "search", "aresponses": "responses",
    "aanthropic_messages": "anthropic_messages", "agenerate_content": "generate_content",
    "agenerate_content_stream": "generate_content_stream", "aocr": "ocr",
}


class BodyError(ValueError):
    """The body as a whole is not LiteLLM records (answered 400); the message says why."""


# --- the body ------------------------------------------------------------------------------

def _loads(text: str) -> Any:
    # ValueError covers JSONDecodeError and an integer of more than 4300 digits; a body of
    # nested brackets thousands deep exhausts the parser's recursion instead.
    return json.loads(text)


def _decode_error(exc: Exception, line_offset: int = 0) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno + line_offset}, column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:200]


def records(body: bytes) -> list[object]:
    """The records of a generic_api delivery, in order: a JSON array's items, each line of
    NDJSON (blank lines skipped), or the one object sent. Items that are not objects are
    returned as they are, for `observation` to reject by index."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"not UTF-8: byte {exc.start} is invalid") from None
    text = text.removeprefix("\ufeff")
    stripped = text.strip(" \t\r\n")
    if not stripped:
        raise BodyError("the body is empty: expected a JSON object, an array of objects, "
                        "or NDJSON")
    if stripped.startswith("["):
        try:
            document = _loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise BodyError(f"the array is not JSON: {_decode_error(exc, _leading_lines(text))}"
                            ) from None
        if len(document) > MAX_RECORDS:
            raise BodyError(f"{len(document)} records; at most {MAX_RECORDS} in one body")
        return list(document)
    if not stripped.startswith("{"):
        raise BodyError("expected a JSON object, an array of objects, or NDJSON")
    lines = text.split("\n")  # JSON escapes newlines inside strings, so each record is a line
    first = next(i for i, line in enumerate(lines) if line.strip(" \t\r"))
    if _is_object(lines[first]):
        filled = [(i, line) for i, line in enumerate(lines) if line.strip(" \t\r")]
        if len(filled) > MAX_RECORDS:
            raise BodyError(f"{len(filled)} records; at most {MAX_RECORDS} in one body")
        found: list[object] = []
        for i, line in filled:
            try:
                found.append(_loads(line))
            except (ValueError, RecursionError) as exc:
                raise BodyError(f"line {i + 1} is not JSON: {_decode_error(exc)}") from None
        return found
    # One object spread over several lines (pretty-printed): a single record.
    try:
        document = _loads(stripped)
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"the object is not JSON: {_decode_error(exc, _leading_lines(text))}"
                        ) from None
    return [document]


def _leading_lines(text: str) -> int:
    """Lines before the first non-space character, so errors count lines of the body as sent."""
    return text[:len(text) - len(text.lstrip(" \t\r\n"))].count("\n")


def _is_object(line: str) -> bool:
    try:
        return isinstance(_loads(line), dict)
    except (ValueError, RecursionError):
        return False


# --- one record ----------------------------------------------------------------------------

def _object(parent: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    value = parent.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(path, "expected an object")
    return value


def _name(*candidates: tuple[dict[str, Any], str, str]) -> str | None:
    """The first of (parent, key, path) that holds a value; validated as a name."""
    for parent, key, path in candidates:
        found = checked_name(parent.get(key), path)
        if found is not None:
            return found
    return None


def _moment(record: dict[str, Any], name: str) -> datetime | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(name, "expected epoch seconds (a number)")
    if not math.isfinite(value):
        raise Rejected(name, "not a finite number")
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise Rejected(name, "not a time") from None
    return checked_moment(moment, name)


def _count(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    return None if value is None else checked_count(value, name)


def _cost(record: dict[str, Any]) -> float | None:
    value = record.get("response_cost")
    if value is None:
        return None
    return checked_cost(value, "response_cost", "a non-negative number of US dollars")


def _operation(call_type: str | None) -> str | None:
    if call_type is None:
        return None
    return _OPERATIONS.get(call_type, call_type)


def _use_case(record: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    requested = metadata.get("requester_metadata")
    requested = requested if isinstance(requested, dict) else {}
    tags = record.get("request_tags")
    tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    for key, prefix in zip(_USE_CASE_KEYS, _USE_CASE_TAGS, strict=True):
        candidates = [requested.get(key)] + [t[len(prefix):] for t in tags if t.startswith(prefix)]
        for value in candidates:
            if isinstance(value, str) and _USE_CASE.fullmatch(value.strip()):
                return value.strip()
    return None


def _input_text(messages: Any) -> str | None:
    """`messages` as sent: chat messages, the prompt string, or an embedding's inputs."""
    if isinstance(messages, str):
        return messages or None
    if isinstance(messages, list):
        return content.flatten(messages)
    if isinstance(messages, dict) and "content" in messages:
        return content.flatten([messages])
    return None


def _content_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        return content.flatten(value)
    return None


def _output_text(response: Any) -> str | None:
    """The answer's text: a chat completion's choices, a text completion's, a Responses API
    `output`, an Anthropic message's `content`; nothing for embeddings, images and the like."""
    if isinstance(response, str):
        return response or None
    if not isinstance(response, dict):
        return None
    texts: list[str | None] = []
    choices = response.get("choices")
    if isinstance(choices, list):
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            message = choice.get("message")
            if isinstance(message, dict):
                texts.append(_content_text(message.get("content")))
            elif isinstance(choice.get("text"), str):
                texts.append(choice["text"] or None)
    output = response.get("output")
    if isinstance(output, list):
        for item in output:
            if isinstance(item, dict) and item.get("type") == "message":
                texts.append(_content_text(item.get("content")))
    if isinstance(response.get("content"), list):
        texts.append(_content_text([block for block in response["content"]
                                    if isinstance(block, dict) and block.get("type") == "text"]))
    return content.joined(*texts)


def _error(record: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    if record.get("status") != "failure":
        return None, {}
    information = record.get("error_information")
    information = information if isinstance(information, dict) else {}
    error_class = information.get("error_class")
    message = information.get("error_message")
    error_str = record.get("error_str")
    if isinstance(error_str, str) and error_str:
        error = error_str  # str() of LiteLLM's exception: "litellm.RateLimitError: …"
    elif isinstance(message, str) and message:
        error = f"{error_class}: {message}" if isinstance(error_class, str) and error_class \
            else message
    elif isinstance(error_class, str) and error_class:
        error = error_class
    else:
        error = "failure"
    shown = {f"litellm.{key}": value for key in ("error_class", "error_code")
             if (value := _shown(information.get(key))) is not None}
    # Stored as sent up to keeping.ERROR_MAX; PostgreSQL text cannot hold NUL.
    return error.replace("\x00", "\ufffd"), shown


def _shown(value: Any) -> str | None:
    """A value worth showing beside the event, when it is one; never a reason to reject."""
    if isinstance(value, bool):
        return "true" if value else None
    if not isinstance(value, str) or not value or len(value) > NAME_MAX or "\x00" in value:
        return None
    return value


def observation(record: object) -> Observation:
    """One StandardLoggingPayload as an Observation; Rejected(field, reason) when it cannot be
    kept, `field` being the record's own spelling (`metadata.user_api_key_user_id`)."""
    if not isinstance(record, dict):
        raise Rejected("record", f"expected a JSON object, not {_json_type(record)}")
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        raise Rejected("id", "missing")
    if not isinstance(raw_id, str):
        raise Rejected("id", "expected a string")
    if raw_id == "None":  # LiteLLM's str(None): the call had neither a response id nor a call id
        raise Rejected("id", "LiteLLM sent no id for this call (\"None\")")
    call_id = checked_name(raw_id, "id", ID_MAX)
    started = _moment(record, "startTime")
    if started is None:
        raise Rejected("startTime", "missing")
    ended = _moment(record, "endTime")
    if ended is not None and ended < started:
        raise Rejected("endTime", "before startTime")
    metadata = _object(record, "metadata", "metadata")
    response = record.get("response")
    call_type = checked_name(record.get("call_type"), "call_type")
    model_group = checked_name(record.get("model_group"), "model_group")
    user = _name((metadata, "user_api_key_user_id", "metadata.user_api_key_user_id"),
                 (record, "end_user", "end_user"))
    team = _name((metadata, "user_api_key_team_alias", "metadata.user_api_key_team_alias"),
                 (metadata, "user_api_key_team_id", "metadata.user_api_key_team_id"),
                 (metadata, "team_alias", "metadata.team_alias"),
                 (metadata, "team_id", "metadata.team_id"))
    error, shown = _error(record)
    end_user = record.get("end_user")
    team_id = metadata.get("user_api_key_team_id")
    for key, value in (("call_type", call_type), ("model_group", model_group),
                       ("model_id", record.get("model_id")), ("trace_id", record.get("trace_id")),
                       ("litellm_call_id", record.get("litellm_call_id")),
                       ("end_user", end_user if end_user != user else None),
                       ("user_email", metadata.get("user_api_key_user_email")),
                       ("team_id", team_id if team_id != team else None),
                       ("org", metadata.get("user_api_key_org_alias")
                        or metadata.get("user_api_key_org_id")),
                       ("cache_hit", record.get("cache_hit")), ("stream", record.get("stream"))):
        if (found := _shown(value)) is not None:
            shown[f"litellm.{key}"] = found
    return Observation(
        key=f"{KEY_PREFIX}{call_id}",
        source="litellm",
        started_at=started,
        ended_at=ended,
        operation=_operation(call_type),
        provider=_name((record, "custom_llm_provider", "custom_llm_provider")),
        request_model=_name((record, "model", "model")) or model_group,
        response_model=(_name((response, "model", "response.model"))
                        if isinstance(response, dict) else None),
        # The key's alias names the program that holds it ("billing-bot-prod"); LiteLLM's
        # payload has no better field for the calling service.
        service=_name((metadata, "user_api_key_alias", "metadata.user_api_key_alias")),
        user=user,
        team=team,
        use_case=_use_case(record, metadata),
        input_tokens=_count(record, "prompt_tokens"),
        output_tokens=_count(record, "completion_tokens"),
        cost_usd=_cost(record),
        input_text=_input_text(record.get("messages")),
        output_text=_output_text(response),
        error=error,
        attributes=shown,
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__

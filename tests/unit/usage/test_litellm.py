"""LiteLLM's generic_api callback bodies read into Observations (services/usage/litellm.py).

The records are built field for field as litellm/types/utils.py's StandardLoggingPayload spells
them (get_standard_logging_object_payload in litellm_logging.py fills them), for a chat
completion through the proxy with a virtual key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.usage import litellm
from services.usage.event import KEY_MAX, NAME_MAX, Rejected

STARTED = 1767225600.25  # 2026-01-01T00:00:00.25Z
ENDED = 1767225601.75


def payload(**changes: Any) -> dict[str, Any]:
    """A StandardLoggingPayload for one proxied chat completion, as LiteLLM emits it."""
    record: dict[str, Any] = {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "trace_id": "3f1c6a0e-5c1b-4c43-9d53-0d5f8f6b2a11",
        "litellm_call_id": "9b2c7c1e-2f0e-4f5e-8a59-6f0f5c8e1d23",
        "call_type": "acompletion",
        "stream": None,
        "response_cost": 0.00042,
        "cost_breakdown": {"input_cost": 0.0002, "output_cost": 0.00022, "total_cost": 0.00042},
        "response_cost_failure_debug_info": None,
        "status": "success",
        "status_fields": {"llm_api_status": "success", "guardrail_status": "not_run"},
        "custom_llm_provider": "openai",
        "total_tokens": 42,
        "prompt_tokens": 30,
        "completion_tokens": 12,
        "startTime": STARTED,
        "endTime": ENDED,
        "completionStartTime": ENDED,
        "response_time": ENDED - STARTED,
        "model_map_information": {"model_map_key": "gpt-4o-mini", "model_map_value": None},
        "model": "gpt-4o-mini",
        "model_id": "c1a4e2b0d5f94b6e8f7a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
        "model_group": "chat-default",
        "api_base": "https://api.openai.com/v1",
        "metadata": {
            "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
            "user_api_key_alias": "billing-bot-prod",
            "user_api_key_spend": 12.5,
            "user_api_key_max_budget": None,
            "user_api_key_budget_reset_at": None,
            "user_api_key_team_id": "team-7f3e",
            "user_api_key_org_id": "org-1",
            "user_api_key_project_id": None,
            "user_api_key_user_id": "alice",
            "user_api_key_user_email": "alice@example.com",
            "user_api_key_team_alias": "payments",
            "user_api_key_end_user_id": None,
            "user_api_key_request_route": "/chat/completions",
            "spend_logs_metadata": None,
            "requester_ip_address": "10.0.0.8",
            "user_agent": "OpenAI/Python 1.54.0",
            "requester_metadata": {"countersign.use_case": "UC-12"},
            "prompt_management_metadata": None,
            "applied_guardrails": [],
            "mcp_tool_call_metadata": None,
            "vector_store_request_metadata": None,
            "usage_object": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
            "requester_custom_headers": {},
            "cold_storage_object_key": None,
            "user_api_key_auth_metadata": None,
            "team_alias": None,
            "team_id": None,
        },
        "cache_hit": None,
        "cache_key": None,
        "saved_cache_cost": 0.0,
        "request_tags": ["User-Agent: OpenAI", "User-Agent: OpenAI/Python 1.54.0"],
        "end_user": "",
        "requester_ip_address": "10.0.0.8",
        "user_agent": "OpenAI/Python 1.54.0",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "response": {
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "created": 1767225601,
            "model": "gpt-4o-mini-2024-07-18",
            "object": "chat.completion",
            "system_fingerprint": "fp_0ba0d124f1",
            "choices": [{
                "finish_reason": "stop",
                "index": 0,
                "message": {"content": "Paris.", "role": "assistant", "tool_calls": None,
                            "function_call": None},
            }],
            "usage": {"completion_tokens": 12, "prompt_tokens": 30, "total_tokens": 42},
        },
        "error_str": None,
        "error_information": {"error_code": "", "error_class": "", "llm_provider": "",
                              "traceback": "", "error_message": ""},
        "model_parameters": {"temperature": 0.2, "max_tokens": 64},
        "hidden_params": {
            "model_id": "c1a4e2b0d5f94b6e8f7a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
            "cache_key": None,
            "api_base": "https://api.openai.com/v1",
            "response_cost": 0.00042,
            "litellm_overhead_time_ms": 3.1,
            "additional_headers": {"x_ratelimit_remaining_requests": 9999},
            "batch_models": None,
            "litellm_model_name": "gpt-4o-mini",
            "usage_object": None,
        },
        "guardrail_information": None,
        "standard_built_in_tools_params": {"web_search_options": None, "file_search": None},
    }
    record.update(changes)
    return record


def with_metadata(**changes: Any) -> dict[str, Any]:
    record = payload()
    record["metadata"].update(changes)
    return record


def rejected(record: object) -> tuple[str, str]:
    with pytest.raises(Rejected) as caught:
        litellm.observation(record)
    return caught.value.field, caught.value.reason


def body_error(body: bytes) -> str:
    with pytest.raises(litellm.BodyError) as caught:
        litellm.records(body)
    return str(caught.value)


# --- the body ------------------------------------------------------------------------------

def test_a_json_array_is_the_default_log_format():
    first, second = payload(id="chatcmpl-1"), payload(id="chatcmpl-2")
    assert litellm.records(json.dumps([first, second]).encode()) == [first, second]


def test_an_empty_array_is_no_records():
    assert litellm.records(b"  []\n") == []


def test_ndjson_is_one_record_a_line_blank_lines_skipped():
    lines = [json.dumps(payload(id=f"chatcmpl-{n}")) for n in range(3)]
    body = ("\n" + lines[0] + "\n\n" + lines[1] + "\n   \n" + lines[2] + "\n").encode()
    assert [r["id"] for r in litellm.records(body)] == ["chatcmpl-0", "chatcmpl-1", "chatcmpl-2"]


def test_ndjson_with_crlf_line_ends_and_blank_crlf_lines():
    lines = [json.dumps(payload(id=f"chatcmpl-{n}")) for n in range(2)]
    body = (lines[0] + "\r\n\r\n" + lines[1] + "\r\n").encode()
    assert [r["id"] for r in litellm.records(body)] == ["chatcmpl-0", "chatcmpl-1"]


def test_a_single_object_is_one_record_compact_or_pretty_printed():
    record = payload()
    assert litellm.records(json.dumps(record).encode()) == [record]
    assert litellm.records(json.dumps(record, indent=2).encode()) == [record]


def test_a_byte_order_mark_is_skipped():
    assert litellm.records(b"\xef\xbb\xbf" + json.dumps([payload()]).encode()) == [payload()]


def test_items_that_are_not_objects_are_returned_for_observation_to_reject():
    assert litellm.records(b'[{"id": "a"}, 3, "x", null, [1]]') == [{"id": "a"}, 3, "x", None, [1]]
    assert litellm.records(b'{"id": "a"}\n[1, 2]\n"x"\n') == [{"id": "a"}, [1, 2], "x"]


def test_an_ndjson_line_that_is_not_json_is_named():
    body = (json.dumps(payload()) + "\n\n" + '{"id": "b",' + "\n").encode()
    message = body_error(body)
    assert message.startswith("line 3 is not JSON:"), message


def test_a_broken_array_names_the_line_and_column():
    message = body_error(b'\n[\n  {"id": "a"},\n  {"id": "b"\n]')
    assert message.startswith("the array is not JSON:"), message
    assert "line 5" in message, message


def test_a_broken_pretty_printed_object_names_its_line():
    message = body_error(b'{\n  "id": "a",\n  "startTime": ,\n}')
    assert message.startswith("the object is not JSON:"), message
    assert "line 3" in message, message


@pytest.mark.parametrize("body", [b"42", b'"text"', b"null", b"true", b"<xml/>"])
def test_a_body_that_is_no_object_or_array_is_refused(body):
    assert body_error(body) == "expected a JSON object, an array of objects, or NDJSON"


@pytest.mark.parametrize("body", [b"", b" \r\n\t "])
def test_an_empty_body_is_refused(body):
    assert body_error(body).startswith("the body is empty")


def test_a_body_that_is_not_utf8_is_refused():
    assert body_error(b'[{"id": "\xff"}]') == "not UTF-8: byte 9 is invalid"


def test_nesting_beyond_the_parser_is_refused_not_a_crash():
    assert "nested too deeply" in body_error(b"[" * 100_000 + b"]" * 100_000)


def test_an_integer_too_long_to_parse_is_refused_not_a_crash():
    assert body_error(b'[{"prompt_tokens": ' + b"9" * 5000 + b"}]").startswith(
        "the array is not JSON:")


def test_at_most_max_records_in_an_array():
    at_limit = json.dumps([{"id": str(n)} for n in range(litellm.MAX_RECORDS)]).encode()
    assert len(litellm.records(at_limit)) == litellm.MAX_RECORDS
    over = json.dumps([{"id": str(n)} for n in range(litellm.MAX_RECORDS + 1)]).encode()
    assert body_error(over) == "1001 records; at most 1000 in one body"


def test_at_most_max_records_in_ndjson():
    at_limit = "\n".join(json.dumps({"id": str(n)}) for n in range(litellm.MAX_RECORDS)).encode()
    assert len(litellm.records(at_limit)) == litellm.MAX_RECORDS
    over = "\n".join(json.dumps({"id": str(n)}) for n in range(litellm.MAX_RECORDS + 1)).encode()
    assert body_error(over) == "1001 records; at most 1000 in one body"


# --- one record: the full mapping ----------------------------------------------------------

def test_a_chat_completion_maps_field_for_field():
    seen = litellm.observation(payload())
    assert seen.key == "litellm:chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert seen.source == "litellm"
    assert seen.started_at == datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert seen.ended_at == datetime(2026, 1, 1, 0, 0, 1, 750000, tzinfo=UTC)
    assert seen.operation == "chat"
    assert seen.provider == "openai"
    assert seen.request_model == "gpt-4o-mini"
    assert seen.response_model == "gpt-4o-mini-2024-07-18"
    assert seen.model == "gpt-4o-mini-2024-07-18"
    assert seen.service == "billing-bot-prod"
    assert seen.user == "alice"
    assert seen.team == "payments"
    assert seen.use_case == "UC-12"
    assert (seen.input_tokens, seen.output_tokens, seen.cost_usd) == (30, 12, 0.00042)
    assert seen.input_text == "system: You are terse.\nuser: What is the capital of France?"
    assert seen.output_text == "Paris."
    assert seen.error is None
    assert (seen.trace_id, seen.span_id) == (None, None)
    assert seen.attributes == {
        "litellm.call_type": "acompletion",
        "litellm.model_group": "chat-default",
        "litellm.model_id": "c1a4e2b0d5f94b6e8f7a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
        "litellm.trace_id": "3f1c6a0e-5c1b-4c43-9d53-0d5f8f6b2a11",
        "litellm.litellm_call_id": "9b2c7c1e-2f0e-4f5e-8a59-6f0f5c8e1d23",
        "litellm.user_email": "alice@example.com",
        "litellm.team_id": "team-7f3e",
        "litellm.org": "org-1",
    }


def test_a_record_read_from_each_body_shape_maps_alike():
    record = payload()
    for body in (json.dumps([record]), json.dumps(record), json.dumps(record) + "\n"):
        (read,) = litellm.records(body.encode())
        assert litellm.observation(read) == litellm.observation(record)


def test_unknown_fields_are_ignored():
    known = litellm.observation(payload())
    assert litellm.observation(payload(brand_new_field={"x": [1]})) == known


@pytest.mark.parametrize(("call_type", "operation"), [
    ("completion", "chat"), ("acompletion", "chat"),
    ("embedding", "embeddings"), ("aembedding", "embeddings"),
    ("text_completion", "text_completion"), ("atext_completion", "text_completion"),
    ("image_generation", "image_generation"), ("aimage_generation", "image_generation"),
    ("aresponses", "responses"), ("responses", "responses"),
    ("pass_through_endpoint", "pass_through_endpoint"),
])
def test_call_type_names_the_operation(call_type, operation):
    assert litellm.observation(payload(call_type=call_type)).operation == operation


def test_an_empty_call_type_names_no_operation():
    seen = litellm.observation(payload(call_type=""))
    assert seen.operation is None and "litellm.call_type" not in seen.attributes


def test_request_model_falls_back_to_the_model_group():
    assert litellm.observation(payload(model="")).request_model == "chat-default"
    assert litellm.observation(payload(model=None, model_group=None)).request_model is None


def test_no_response_model_without_a_response_naming_one():
    assert litellm.observation(payload(response={})).response_model is None
    assert litellm.observation(payload(response="text")).response_model is None


def test_user_is_the_keys_user_else_the_end_user():
    seen = litellm.observation(payload(end_user="customer-9"))
    assert seen.user == "alice" and seen.attributes["litellm.end_user"] == "customer-9"
    record = with_metadata(user_api_key_user_id=None)
    record["end_user"] = "customer-9"
    seen = litellm.observation(record)
    assert seen.user == "customer-9" and "litellm.end_user" not in seen.attributes
    record["end_user"] = ""
    assert litellm.observation(record).user is None


def test_team_is_the_alias_else_the_id():
    seen = litellm.observation(with_metadata(user_api_key_team_alias=None))
    assert seen.team == "team-7f3e" and "litellm.team_id" not in seen.attributes
    assert litellm.observation(with_metadata(user_api_key_team_alias=None,
                                             user_api_key_team_id=None)).team is None


def test_no_service_without_a_key_alias():
    assert litellm.observation(with_metadata(user_api_key_alias=None)).service is None


def test_no_metadata_at_all_is_no_who():
    seen = litellm.observation(payload(metadata=None))
    assert (seen.service, seen.user, seen.team, seen.use_case) == (None, None, None, None)


def test_cache_hits_and_streams_are_shown():
    seen = litellm.observation(payload(cache_hit=True, stream=True))
    assert seen.attributes["litellm.cache_hit"] == "true"
    assert seen.attributes["litellm.stream"] == "true"
    assert "litellm.cache_hit" not in litellm.observation(payload(cache_hit=False)).attributes


def test_a_zero_cost_and_zero_tokens_are_kept_as_zero():
    seen = litellm.observation(payload(response_cost=0, prompt_tokens=0, completion_tokens=0))
    assert (seen.cost_usd, seen.input_tokens, seen.output_tokens) == (0.0, 0, 0)


def test_whole_floats_are_counts():
    assert litellm.observation(payload(prompt_tokens=30.0)).input_tokens == 30


def test_integer_epoch_seconds_are_times():
    seen = litellm.observation(payload(startTime=1767225600, endTime=None))
    assert seen.started_at == datetime(2026, 1, 1, tzinfo=UTC) and seen.ended_at is None


# --- use case ------------------------------------------------------------------------------

@pytest.mark.parametrize(("requester", "tags", "expected"), [
    ({"countersign.use_case": "UC-12"}, [], "UC-12"),
    (None, ["countersign.use_case:UC-7"], "UC-7"),
    (None, ["team:payments", "use_case:UC-123456"], "UC-123456"),
    ({"use_case": "UC-3"}, [], "UC-3"),
    # The Countersign-prefixed spelling wins over the bare one, wherever each is.
    ({"use_case": "UC-3"}, ["countersign.use_case:UC-4"], "UC-4"),
    ({"countersign.use_case": "UC-5"}, ["use_case:UC-6"], "UC-5"),
    # Not a registry id: ignored, and the next spelling is looked at.
    ({"countersign.use_case": "billing"}, ["use_case:UC-8"], "UC-8"),
    (None, ["use_case:UC-1234567"], None),
    (None, ["use_case:uc-12"], None),
    (None, ["use_case:UC-12\n"], "UC-12"),
    (None, ["use_case: UC-12x"], None),
    (None, ["countersign.use_case=UC-12"], None),
    ({"countersign.use_case": 12}, [None, 5, {"x": 1}], None),
    (None, [], None),
])
def test_use_case_from_tags_or_request_metadata(requester, tags, expected):
    record = with_metadata(requester_metadata=requester)
    record["request_tags"] = tags
    assert litellm.observation(record).use_case == expected


def test_tags_that_are_not_a_list_name_no_use_case():
    record = with_metadata(requester_metadata=None)
    record["request_tags"] = "use_case:UC-1"
    assert litellm.observation(record).use_case is None


# --- content -------------------------------------------------------------------------------

def test_content_parts_are_flattened_to_text():
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "Describe this picture."},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": "Briefly."},
    ]}]
    response = payload()["response"]
    response["choices"][0]["message"]["content"] = [{"type": "text", "text": "A cat."}]
    seen = litellm.observation(payload(messages=messages, response=response))
    assert seen.input_text == "user: Describe this picture. Briefly."
    assert seen.output_text == "A cat."


def test_a_prompt_string_is_kept_as_sent():
    seen = litellm.observation(payload(call_type="atext_completion",
                                       messages="Once upon a time",
                                       response={"model": "gpt-3.5-turbo-instruct",
                                                 "choices": [{"text": " there was a"}]}))
    assert (seen.input_text, seen.output_text) == ("Once upon a time", " there was a")


def test_an_assistant_turn_with_only_tool_calls_adds_no_line():
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    response = payload()["response"]
    response["choices"][0]["message"]["content"] = None
    seen = litellm.observation(payload(messages=messages, response=response))
    assert seen.input_text == "user: Weather in Paris?\ntool: 18C"
    assert seen.output_text is None


def test_several_choices_are_one_line_each():
    response = payload()["response"]
    response["choices"] = [{"index": 0, "message": {"role": "assistant", "content": "Paris."}},
                           {"index": 1, "message": {"role": "assistant", "content": "It's Paris."}}]
    assert litellm.observation(payload(response=response)).output_text == "Paris.\nIt's Paris."


def test_an_embedding_call_has_its_inputs_and_no_output_text():
    seen = litellm.observation(payload(
        id="5d1f3c2e-embed", call_type="aembedding", model="text-embedding-3-small",
        messages=["first passage", "second passage"], completion_tokens=0,
        response={"model": "text-embedding-3-small", "object": "list",
                  "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2]},
                           {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]}],
                  "usage": {"prompt_tokens": 6, "total_tokens": 6}}))
    assert seen.operation == "embeddings"
    assert seen.input_text == "first passage\nsecond passage"
    assert seen.output_text is None
    assert seen.response_model == "text-embedding-3-small"


def test_a_responses_api_answer():
    response = {"id": "resp_1", "object": "response", "model": "gpt-4.1-2025-04-14",
                "output": [
                    {"type": "reasoning", "id": "rs_1", "summary": []},
                    {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                     "content": [{"type": "output_text", "text": "Paris.", "annotations": []}]},
                ]}
    messages = [{"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": "Capital of France?"}]}]
    seen = litellm.observation(payload(call_type="aresponses", messages=messages,
                                       response=response))
    assert (seen.input_text, seen.output_text) == ("user: Capital of France?", "Paris.")


def test_an_anthropic_messages_answer():
    response = {"id": "msg_01", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "content": [{"type": "thinking", "thinking": "hm"},
                            {"type": "text", "text": "Paris."},
                            {"type": "tool_use", "id": "tu_1", "name": "x", "input": {}}]}
    seen = litellm.observation(payload(call_type="anthropic_messages", response=response))
    assert seen.output_text == "Paris." and seen.response_model == "claude-sonnet-4-20250514"


@pytest.mark.parametrize("odd", [
    None, 5, True, {}, [], [None, 3, [1, 2]], {"role": "user"}, [{"role": "user", "content": 7}],
    [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
    [[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]],
])
def test_odd_message_shapes_give_no_text_not_an_error(odd):
    assert litellm.observation(payload(messages=odd)).input_text is None


@pytest.mark.parametrize("odd", [
    None, 5, [], ["a", "b"], {}, {"choices": None}, {"choices": [None, 3, {"message": "x"}]},
    {"choices": [{"message": {"content": {"nested": True}}}]}, {"output": "x"},
    {"output": [{"type": "message", "content": None}]}, {"content": "plain"},
    {"data": [{"url": "https://example.com/image.png", "revised_prompt": "a cat"}]},
])
def test_odd_response_shapes_give_no_text_not_an_error(odd):
    assert litellm.observation(payload(response=odd)).output_text is None


def test_huge_content_is_read_whole_without_trouble():
    huge = "x" * 5_000_000
    seen = litellm.observation(payload(messages=[{"role": "user", "content": huge}],
                                       response={"choices": [{"message": {"content": huge}}]}))
    assert len(seen.input_text) == len("user: ") + len(huge)
    assert seen.output_text == huge


def test_content_with_nul_is_passed_on_for_keeping_to_handle():
    seen = litellm.observation(payload(messages="a\x00b"))
    assert seen.input_text == "a\x00b"


# --- failures ------------------------------------------------------------------------------

def failure(**changes: Any) -> dict[str, Any]:
    """A call the provider refused, as LiteLLM's failure handler logs it."""
    record = payload(
        id="9b2c7c1e-2f0e-4f5e-8a59-6f0f5c8e1d23", status="failure",
        status_fields={"llm_api_status": "failure", "guardrail_status": "not_run"},
        response={}, response_cost=0.0, prompt_tokens=0, completion_tokens=0, total_tokens=0,
        error_str="litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached",
        error_information={"error_code": "429", "error_class": "RateLimitError",
                           "llm_provider": "openai", "traceback": "Traceback …",
                           "error_message": "litellm.RateLimitError: OpenAIException - "
                                            "Rate limit reached"})
    record.update(changes)
    return record


def test_a_failure_maps_its_error():
    seen = litellm.observation(failure())
    assert seen.error == ("litellm.RateLimitError: RateLimitError: OpenAIException - "
                          "Rate limit reached")
    assert seen.attributes["litellm.error_class"] == "RateLimitError"
    assert seen.attributes["litellm.error_code"] == "429"
    assert seen.output_text is None and seen.response_model is None
    assert seen.key == "litellm:9b2c7c1e-2f0e-4f5e-8a59-6f0f5c8e1d23"


def test_a_failure_without_error_str_uses_error_information():
    seen = litellm.observation(failure(error_str=None))
    assert seen.error == ("RateLimitError: litellm.RateLimitError: OpenAIException - "
                          "Rate limit reached")
    information = {"error_class": "Timeout", "error_message": ""}
    assert litellm.observation(failure(error_str="", error_information=information)).error \
        == "Timeout"


def test_a_failure_that_says_nothing_is_still_a_failure():
    assert litellm.observation(failure(error_str=None, error_information=None)).error == "failure"


def test_a_success_has_no_error_whatever_else_it_carries():
    seen = litellm.observation(payload(error_str="leftover", status="success"))
    assert seen.error is None and "litellm.error_class" not in seen.attributes


def test_nul_in_an_error_is_replaced_not_stored():
    assert litellm.observation(failure(error_str="bad\x00byte")).error == "bad\ufffdbyte"


# --- rejections ----------------------------------------------------------------------------

@pytest.mark.parametrize(("item", "kind"), [
    (3, "a number"), ("x", "a string"), (None, "null"), ([1], "an array"), (True, "a boolean"),
])
def test_an_item_that_is_no_object_is_rejected(item, kind):
    assert rejected(item) == ("record", f"expected a JSON object, not {kind}")


@pytest.mark.parametrize(("value", "reason"), [
    (None, "missing"), ("", "missing"), (17, "expected a string"), (["a"], "expected a string"),
    ("a\x00b", "contains a NUL character"),
    ("None", "LiteLLM sent no id for this call (\"None\")"),
])
def test_the_id_is_required(value, reason):
    assert rejected(payload(id=value)) == ("id", reason)


def test_a_record_without_an_id_is_rejected_naming_it():
    record = payload()
    del record["id"]
    assert rejected(record) == ("id", "missing")


def test_the_id_fits_the_key():
    longest = "x" * (KEY_MAX - len("litellm:"))
    assert litellm.observation(payload(id=longest)).key == "litellm:" + longest
    assert len(litellm.observation(payload(id=longest)).key) == KEY_MAX
    assert rejected(payload(id=longest + "x")) == (
        "id", f"{len(longest) + 1} characters long; at most {len(longest)}")


def test_a_record_without_a_start_time_is_rejected_naming_it():
    record = payload()
    del record["startTime"]
    assert rejected(record) == ("startTime", "missing")
    assert rejected(payload(startTime=None)) == ("startTime", "missing")


@pytest.mark.parametrize("name", ["startTime", "endTime"])
@pytest.mark.parametrize(("value", "reason"), [
    (True, "expected epoch seconds (a number)"),
    (False, "expected epoch seconds (a number)"),
    ("2026-01-01T00:00:00", "expected epoch seconds (a number)"),
    (float("nan"), "not a finite number"),
    (float("inf"), "not a finite number"),
    (1e300, "not a time"),
    (1767225600250, "not a time"),  # milliseconds, not seconds
    (0, "1970-01-01T00:00:00+00:00 is outside 2000–2099"),
    (4102444800, "2100-01-01T00:00:00+00:00 is outside 2000–2099"),
])
def test_times_are_epoch_seconds_in_range(name, value, reason):
    record = payload(**{name: value})
    if name == "startTime":
        record["endTime"] = None
    assert rejected(record) == (name, reason)


def test_the_end_is_not_before_the_start():
    assert rejected(payload(endTime=STARTED - 1)) == ("endTime", "before startTime")
    assert litellm.observation(payload(endTime=STARTED)).ended_at == \
        litellm.observation(payload()).started_at


@pytest.mark.parametrize("name", ["prompt_tokens", "completion_tokens"])
@pytest.mark.parametrize("value", [True, False, -1, 1.5, "12", float("nan"), float("inf"),
                                   2**31, [12]])
def test_token_counts_are_whole_numbers_in_range(name, value):
    assert rejected(payload(**{name: value})) == (
        name, f"expected a whole number from 0 to {litellm.TOKENS_MAX}")


def test_the_largest_token_count_is_kept():
    assert litellm.observation(payload(prompt_tokens=2**31 - 1)).input_tokens == 2**31 - 1


@pytest.mark.parametrize("value", [True, False, -0.01, float("nan"), float("inf"), "0.1", {}])
def test_cost_is_a_non_negative_number(value):
    assert rejected(payload(response_cost=value)) == (
        "response_cost", "expected a non-negative number of US dollars")


@pytest.mark.parametrize(("record", "field"), [
    (payload(custom_llm_provider=["openai"]), "custom_llm_provider"),
    (payload(model={"name": "gpt"}), "model"),
    (payload(model=True), "model"),
    (payload(model_group=3.5), "model_group"),
    (payload(call_type=["acompletion"]), "call_type"),
    (payload(response={"model": ["gpt"]}), "response.model"),
    (with_metadata(user_api_key_user_id={"id": 1}), "metadata.user_api_key_user_id"),
    (with_metadata(user_api_key_team_alias=False), "metadata.user_api_key_team_alias"),
    (with_metadata(user_api_key_alias=["a"]), "metadata.user_api_key_alias"),
])
def test_a_name_of_the_wrong_type_is_rejected_naming_it(record, field):
    assert rejected(record) == (field, "expected a string")


@pytest.mark.parametrize(("record", "field"), [
    (payload(custom_llm_provider="x" * (NAME_MAX + 1)), "custom_llm_provider"),
    (payload(model="x" * (NAME_MAX + 1)), "model"),
    (payload(response={"model": "x" * (NAME_MAX + 1)}), "response.model"),
    (with_metadata(user_api_key_user_id="x" * (NAME_MAX + 1)), "metadata.user_api_key_user_id"),
    (with_metadata(user_api_key_team_alias="x" * (NAME_MAX + 1)),
     "metadata.user_api_key_team_alias"),
    (with_metadata(user_api_key_alias="x" * (NAME_MAX + 1)), "metadata.user_api_key_alias"),
])
def test_a_name_too_long_is_rejected_not_cut(record, field):
    assert rejected(record) == (field, f"{NAME_MAX + 1} characters long; at most {NAME_MAX}")


def test_a_name_of_exactly_the_limit_is_kept():
    assert litellm.observation(payload(model="m" * NAME_MAX)).request_model == "m" * NAME_MAX


@pytest.mark.parametrize(("record", "field"), [
    (payload(custom_llm_provider="open\x00ai"), "custom_llm_provider"),
    (payload(model="gpt\x00"), "model"),
    (payload(model="", model_group="group\x00"), "model_group"),
    (payload(call_type="a\x00"), "call_type"),
    (payload(response={"model": "\x00"}), "response.model"),
    (with_metadata(user_api_key_user_id="al\x00ice"), "metadata.user_api_key_user_id"),
    (with_metadata(user_api_key_user_id=None) | {"end_user": "c\x00"}, "end_user"),
    (with_metadata(user_api_key_team_alias=None, user_api_key_team_id="t\x00"),
     "metadata.user_api_key_team_id"),
    (with_metadata(user_api_key_alias="bot\x00"), "metadata.user_api_key_alias"),
])
def test_a_name_holding_nul_is_rejected_naming_it(record, field):
    assert rejected(record) == (field, "contains a NUL character")


def test_metadata_that_is_no_object_is_rejected():
    assert rejected(payload(metadata=["alice"])) == ("metadata", "expected an object")


def test_a_shown_value_that_cannot_be_stored_is_left_out_not_a_rejection():
    record = with_metadata(user_api_key_user_email="a\x00@example.com")
    record["trace_id"] = "t" * (NAME_MAX + 1)
    record["model_id"] = {"id": 1}
    seen = litellm.observation(record)
    assert not {"litellm.user_email", "litellm.trace_id", "litellm.model_id"} & set(seen.attributes)


def test_the_builder_is_not_shared_between_tests():
    first = payload()
    first["metadata"]["user_api_key_user_id"] = "changed"
    assert payload()["metadata"]["user_api_key_user_id"] == "alice"

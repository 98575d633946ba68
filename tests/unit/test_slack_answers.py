"""Fields of Slack answers, read so an odd answer is an UnexpectedAnswer, not a crash."""

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from bot.slack_answers import UnexpectedAnswer, describe, error_code, field


def response(data: object) -> SlackResponse:
    return SlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/x",
                         req_args={}, data=data, headers={}, status_code=200)


def test_field_reads_a_nested_value_of_the_expected_type():
    assert field(response({"ok": True, "bot": {"app_id": "A1"}}), "bots.info", "bot", "app_id") == "A1"
    assert field({"channel": {"id": "D1"}}, "conversations.open", "channel", "id") == "D1"
    assert field({"messages": []}, "conversations.history", "messages", kind=list) == []


@pytest.mark.parametrize(("data", "says"), [
    ({"ok": True}, "bots.info answered without bot"),
    ({"ok": True, "bot": None}, "bots.info answered without bot.app_id"),
    ({"ok": True, "bot": "B1"}, "bots.info answered without bot.app_id"),
    ({"ok": True, "bot": {"app_id": 7}}, "bots.info answered bot.app_id as int 7"),
    ({"ok": True, "bot": {"app_id": ""}}, "bots.info answered bot.app_id as str ''"),
    (["not", "an", "object"], "bots.info answered without bot"),
])
def test_an_answer_of_another_shape_is_unexpected(data, says):
    with pytest.raises(UnexpectedAnswer) as raised:
        field(response(data), "bots.info", "bot", "app_id")
    assert says in str(raised.value)


def test_error_code_and_describe_never_trust_the_answer_either():
    assert error_code(SlackApiError("x", response({"ok": False, "error": "bot_not_found"}))) == "bot_not_found"
    assert error_code(SlackApiError("x", response({"ok": False, "error": {"nested": 1}}))) is None
    assert error_code(SlackApiError("x", response({"ok": False}))) is None
    assert error_code(ValueError("no response at all")) is None
    assert describe(SlackApiError("long\ntext", response({"ok": False, "error": "fatal"}))) == "SlackApiError: fatal"
    assert describe(KeyError("bot")) == "KeyError: 'bot'"

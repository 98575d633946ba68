"""`countersign socket`: the same listeners over Slack's Socket Mode websocket."""

from tests.harness import payloads
from tests.harness.server import APP_TOKEN


def test_help_over_socket_mode(bot_factory, fake_slack):
    bot = bot_factory("socket", SLACK_APP_TOKEN=APP_TOKEN).start(wait_healthy=False)
    fake_slack.socket_connected(timeout=30)
    ack = fake_slack.socket_request("slash_commands",
                                    payloads.slash_command("/ai-approve", "help"))
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "/ai-incident" in ack["payload"]["text"]
    [opened] = fake_slack.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert bot.proc.poll() is None


def test_unknown_subcommand_over_socket_mode(bot_factory, fake_slack):
    bot_factory("socket", SLACK_APP_TOKEN=APP_TOKEN).start(wait_healthy=False)
    fake_slack.socket_connected(timeout=30)
    ack = fake_slack.socket_request("slash_commands",
                                    payloads.slash_command("/ai-audit", "shred"))
    assert "`shred` is not something `/ai-audit` understands" in ack["payload"]["text"]

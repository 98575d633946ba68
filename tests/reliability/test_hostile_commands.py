"""Every slash command the manifest declares, with generated text — sub-commands from its own
usage, hostile words in every slot, sizes past Slack's limits, markup, Unicode edge cases — and
fields dropped, emptied or doubled. One bot for the module; the invariants are hostile_bot's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.hostile_bot import (  # noqa: F401  (module-scoped fixtures)
    FUZZ_TIMEOUT,
    Shot,
    hostile,
    module_bot_factory,
    module_database_url,
    module_db,
    module_fake,
)
from tests.reliability.hostile_input import COMMANDS, FORM, REQUESTER, form, seed_people, slash_command
from tests.harness import payloads

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(FUZZ_TIMEOUT)]


@pytest.fixture(scope="module")
def world(hostile):  # noqa: ANN001
    seed_people(hostile.fake)
    return hostile


def exact(fake, command: str, text: str, **fields: str) -> Shot:  # noqa: ANN001
    trigger_id = payloads.new_trigger_id()
    body = payloads.slash_command(command, text, user_id=REQUESTER, trigger_id=trigger_id,
                                  response_url=fake.response_url(trigger_id))
    body.update(fields)
    return Shot("command", form(body), FORM, trigger_id=trigger_id, tell_user=bool(body.get("user_id")),
                must_refuse=not body.get("user_id"), note=f"{command} {text[:60]!r} {fields}")


def test_every_command_with_hostile_text(world, request, tmp_path):  # noqa: ANN001
    @given(st.data())
    def fuzz(data) -> None:  # noqa: ANN001
        world.fire(data.draw(slash_command(world.fake)))

    with world.judging(request.node.name, tmp_path):
        fuzz()


# Each at Slack's limits and past them, and the inputs the issue saw break: these run every
# time, whatever hypothesis draws.
SIZED = [
    ("/ai-approve", "code https://github.com/acme/app/pull/1 " + "x" * 2960),
    ("/ai-approve", "code https://github.com/acme/app/pull/1 " + "x" * 2961),
    ("/ai-approve", "code https://x <!channel> hi"),
    ("/ai-approve", "code https://x|<!channel> <!subteam^S1> <@U1> <https://evil.example|x>"),
    ("/ai-approve", "code https://x " + "\u202e\u200b\ufeff" * 50 + " e\u0301\u0301 👩‍👩‍👧‍👦"),
    ("/ai-approve", "code https://x title with a NUL \x00 inside"),
    ("/ai-incident", "sev2 <!here> x"),
    ("/ai-incident", "sev1 " + "<!everyone>" * 300),
    ("/ai-incident", "sev2 \ud800 lone surrogate"),
    ("/ai-usecase", "show " + "9" * 20),
    ("/ai-usecase", "show -1"),
    ("/ai-vendor", "show ١"),
    ("/ai-oncall", "override <@U1> ai-primary 2026-01-01 2025-01-01"),
    ("/ai-playbook", "explain " + "x" * 4000),
    ("/ai-audit", "recent " + "<!channel>"),
]


@pytest.mark.parametrize(("command", "text"), SIZED, ids=[f"{c}-{i}" for i, (c, _) in enumerate(SIZED)])
def test_commands_at_and_past_the_limits(world, request, tmp_path, command, text):  # noqa: ANN001
    with world.judging(request.node.name, tmp_path):
        world.fire(exact(world.fake, command, text))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_without_a_user_is_explained_and_writes_nothing(world, request, tmp_path, command):  # noqa: ANN001
    with world.judging(request.node.name, tmp_path):
        world.fire(exact(world.fake, command, "code https://x title", user_id=""))


@pytest.mark.parametrize("trigger_id", ["a\x00b", "x" * 500, "\u202e\u200b", "<!channel>"],
                         ids=["a NUL", "500 characters", "RTL and zero-width", "markup"])
def test_a_command_with_a_trigger_id_slack_never_sends_is_answered(world, request, tmp_path, trigger_id):  # noqa: ANN001
    # The trigger_id is the delivery's key: PostgreSQL refuses a NUL in it, the key column
    # holds 128 characters. Found by the fuzz on PostgreSQL (a DataError, then an apology).
    with world.judging(request.node.name, tmp_path):
        world.fire(exact(world.fake, "/ai-usecase", "list", trigger_id=f"{payloads.new_trigger_id()}{trigger_id}"))


def test_a_literal_nul_byte_in_a_command_is_answered(world, request, tmp_path):  # noqa: ANN001
    # Not percent-encoded: the raw body itself holds the NUL, and the bot keeps raw bodies.
    trigger_id = payloads.new_trigger_id()
    body = form(payloads.slash_command("/ai-approve", "help", user_id=REQUESTER, trigger_id=trigger_id,
                                       response_url=world.fake.response_url(trigger_id))) + b"&x=a\x00b"
    with world.judging(request.node.name, tmp_path):
        world.fire(Shot("command", body, FORM, trigger_id=trigger_id, tell_user=True, note="raw NUL byte"))

"""Interactivity payloads for every action id, view callback, shortcut and option picker the
product registers (handlers.listened_to()), with garbage values: wrong types, missing keys,
huge strings, negative and huge numbers, nested junk, markup and Unicode edge cases.

The module first drives the bot to post real sign-off, incident and registry messages and to
open its real forms, so a click can land on a real button (with its block id and value) and a
submission can carry a real form's block ids and private_metadata — and then be altered.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocks.approvals import REJECT
from blocks.incidents import RESOLVE, SHORTCUT, UPDATE
from handlers.shortcuts import NO_MESSAGE
from tests.harness import payloads
from services import registry
from services.playbook import load_playbook
from tests.harness.server import EXAMPLE_PLAYBOOK, SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.reliability.hostile_bot import (  # noqa: F401  (module-scoped fixtures)
    FUZZ_TIMEOUT,
    Shot,
    hostile,
    module_bot_factory,
    module_database_url,
    module_db,
    module_fake,
)
from tests.reliability.hostile_input import (
    ADMIN,
    FORM,
    PLAYBOOK,
    REQUESTER,
    REVIEWER,
    World,
    block_action,
    interactive_body,
    options_request,
    seed_people,
    shortcut,
    view_submission,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(FUZZ_TIMEOUT)]
LOADED = load_playbook(EXAMPLE_PLAYBOOK)
ON_CALL = PLAYBOOK["escalation"]["rotations"]["ai-primary"]["members"]


def seed_records(db) -> None:  # noqa: ANN001
    """A use case and a vendor, written by the registry service as the bot's forms would."""
    now = datetime.now(UTC)
    authority = registry.Authority(REQUESTER, frozenset(LOADED.playbook.admins))
    with db.session() as s:
        registry.create(s, "usecase", {
            "title": "Seeded use case", "description": "What the AI does", "owner": REQUESTER,
            "audience": "internal", "purpose": "Saves time", "risk_tier": "limited",
            "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}, authority=authority, now=now,
            playbook=LOADED.playbook)
        registry.create(s, "vendor", {
            "name": "Seeded vendor", "provides": "LLM API", "trains_on_our_data": "no",
            "deployment": "cloud", "injection_tested": "passed", "risk_level": "medium",
            "review_status": "not_started", "assignee": REQUESTER, "reviewer": ADMIN},
            authority=authority, now=now, playbook=LOADED.playbook)


@pytest.fixture(scope="module")
def world(hostile):  # noqa: ANN001
    """The bot's real messages and forms, made through its own commands and buttons."""
    fake = hostile.fake
    seed_people(fake)
    for user in ON_CALL:
        fake.add_user(user)
    seed_records(hostile.db)
    approvals_channel = PLAYBOOK["channels"]["approvals"]
    with SignedSlackClient(hostile.proc.url, SIGNING_SECRET, fake=fake) as seed:
        for text in ("code https://github.com/acme/app/pull/1 Seeded sign-off (Copilot)",
                     "model-change https://example.com/m Seeded model change", ""):
            assert seed.command("/ai-approve", text, user_id=REQUESTER).status_code == 200
        for text in ("sev2 Seeded incident", ""):
            assert seed.command("/ai-incident", text, user_id=REQUESTER).status_code == 200
        for command, text in (("/ai-usecase", "new"), ("/ai-usecase", "edit 1"), ("/ai-usecase", "show 1"),
                              ("/ai-vendor", "new"), ("/ai-vendor", "edit 1"), ("/ai-vendor", "reviewed 1")):
            assert seed.command(command, text, user_id=REQUESTER if "reviewed" not in text else ADMIN).status_code == 200
        assert seed.message_shortcut("report_ai_incident", {
            "type": "message", "ts": "1700000000.000100", "user": REVIEWER, "text": "a bad answer"},
            user_id=REQUESTER).status_code == 200
        assert seed.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"}).status_code == 200
        hostile.rows.settled()
        requests = [m for m in fake.messages(approvals_channel) if m.get("blocks")]
        for message in requests[:1]:
            for action in (REJECT,):
                seed.block_action(action, user_id=REVIEWER, channel_id=approvals_channel, message_ts=message["ts"])
        incidents = [(c.args["channel"], m) for c in fake.calls_to("chat.postMessage")
                     for m in fake.messages(c.args["channel"]) if "incident_ack" in str(m.get("blocks"))]
        for channel_id, message in incidents[:1]:
            for action in (RESOLVE, UPDATE):
                seed.block_action(action, user_id=REQUESTER, channel_id=channel_id, message_ts=message["ts"])
    hostile.rows.settled()
    found = World(fake)
    print(f"fuzzing in: {found.summary()}")
    return hostile, found


def run(world, request, tmp_path, strategy) -> None:  # noqa: ANN001
    bot, _ = world

    @given(st.data())
    def fuzz(data) -> None:  # noqa: ANN001
        bot.fire(data.draw(strategy))

    with bot.judging(request.node.name, tmp_path):
        fuzz()


def test_the_world_has_real_buttons_and_forms(world):  # noqa: ANN001
    # Without them the fuzz would only ever hit the shape checks, never a listener's own code.
    _, found = world
    assert {"approval_approve", "incident_ack"} <= set(found.messages), found.summary()
    assert {"approval_new", "incident_new", "usecase_new", "vendor_new"} <= set(found.views), found.summary()


def test_clicks_on_every_action_id(world, request, tmp_path):  # noqa: ANN001
    run(world, request, tmp_path, block_action(world[0].fake, world[1]))


def test_submissions_of_every_form(world, request, tmp_path):  # noqa: ANN001
    run(world, request, tmp_path, view_submission(world[0].fake, world[1]))


def test_shortcuts(world, request, tmp_path):  # noqa: ANN001
    run(world, request, tmp_path, shortcut(world[0].fake))


def test_option_pickers(world, request, tmp_path):  # noqa: ANN001
    run(world, request, tmp_path, options_request(world[1]))


@pytest.mark.parametrize(("channel", "ts"), [("C0CHAN", "9" * 5000), ("C" * 3000, "1700000000.000100"),
                                             ("", "1700000000.000100"), ("C0CHAN", "<!channel>")],
                         ids=["a 5000-digit ts", "a 3000-character channel", "no channel", "markup for a ts"])
def test_a_shortcut_on_a_message_slack_would_never_name(world, request, tmp_path, channel, ts):  # noqa: ANN001
    # Both go into the incident form's private_metadata (3,000 characters at most): the person
    # is told there is no message to report from, not shown an apology for a crash.
    bot, _ = world
    trigger_id = payloads.new_trigger_id()
    payload = payloads.message_shortcut(SHORTCUT, {"type": "message", "ts": ts, "text": "x"}, channel_id=channel,
                                        trigger_id=trigger_id, response_url=bot.fake.response_url(trigger_id))
    with bot.judging(request.node.name, tmp_path):
        bot.fire(Shot("message_action", interactive_body(payload), FORM, trigger_id=trigger_id, tell_user=True,
                      note=f"channel {channel[:20]!r}, ts {ts[:20]!r}"))
        assert [a.get("text") for k, a in bot.fake.responses if k == trigger_id] == [NO_MESSAGE]

"""Every Block Kit payload we render parses with slack_sdk's models and fits Slack's limits."""

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks.help import COMMANDS, help_message, not_available_message
from blocks.home import home_view
from blocks.playbook import (
    playbook_applied,
    playbook_refused,
    reload_answer,
    summary_answer,
    usergroup_unresolved,
)
from blocks.templates import TEMPLATES
from services.playbook import load_playbook, summary
from tests.harness.server import EXAMPLE_PLAYBOOK

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_LIMIT = 3000


def assert_valid_message(message: dict) -> None:
    assert message["text"], "a fallback text for notifications and screen readers"
    blocks = message["blocks"]
    assert 0 < len(blocks) <= MESSAGE_BLOCKS
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()  # raises on Slack's per-field limits
        text = raw.get("text")
        if isinstance(text, dict):
            assert len(text["text"]) <= TEXT_LIMIT


@pytest.mark.parametrize("focus", [None] + [c.name for c in COMMANDS])
def test_help(focus):
    assert_valid_message(help_message(focus, error="`x` is not something it understands."))


def test_not_available():
    assert_valid_message(not_available_message("/ai-vendor", "list", "the vendor registry"))


def test_home_view_is_a_valid_view():
    view = home_view()
    assert len(view["blocks"]) <= VIEW_BLOCKS
    View(**view).validate_json()


def test_every_template_is_registered_and_renders():
    samples = {
        "playbook_applied": {"path": "playbook.yaml", "hash": "abc", "previous": "def",
                             "version": 1, "actor": "U1", "trigger": "/ai-playbook reload"},
        "playbook_refused": {"path": "playbook.yaml", "kept": "abc", "refused": "def",
                             "issues": ["playbook.yaml:3: timezone: found 'x', expected y"],
                             "actor": "system", "trigger": "SIGHUP"},
        "usergroup_unresolved": {"group": "legal", "error": "no_such_subteam", "hash": "abc"},
    }
    assert set(TEMPLATES) == set(samples)
    for name, data in samples.items():
        assert_valid_message(TEMPLATES[name](data))
    assert playbook_applied is TEMPLATES["playbook_applied"]
    assert usergroup_unresolved is TEMPLATES["usergroup_unresolved"]


def test_a_huge_refusal_stays_within_limits_and_says_what_it_left_out():
    issues = [f"playbook.yaml:{n}: groups.g{n}.members[0]: found 'x', expected a Slack user ID "
              + "U…" * 40 for n in range(2000)]
    message = playbook_refused({"path": "p.yaml", "kept": "a", "refused": "b", "issues": issues,
                                "actor": "system", "trigger": "SIGHUP"})
    assert_valid_message(message)
    last_texts = [b["text"]["text"] for b in message["blocks"] if b.get("text")]
    assert any(t.startswith("…and ") and "more: run `countersign playbook check`" in t
               for t in last_texts)
    shown = sum(t.count("playbook.yaml:") for t in last_texts)
    left_out = int(next(t for t in last_texts if t.startswith("…and ")).split()[1])
    assert shown + left_out == 2000


def test_summary_answer_for_the_example():
    pb = load_playbook(EXAMPLE_PLAYBOOK).playbook
    message = summary_answer(summary(pb), short_hash="abc123", problems={"legal": "no_such_subteam"})
    assert_valid_message(message)
    assert message["response_type"] == "ephemeral"


@pytest.mark.parametrize("status,issues", [("applied", []), ("unchanged", []),
                                           ("refused", ["a: found b, expected c"] * 3)])
def test_reload_answers(status, issues):
    assert_valid_message(reload_answer(status, hash_="abc", issues=issues))

"""The usage views over the running bot: AI calls sent to /api/v1/ai-events with an ingest token,
then read back in Slack — `/ai-audit usage` (admins only; anyone else refused, on the log),
`/ai-usecase show` with what was observed beside what the record documents, App Home's week
for admins. Names telemetry sent arrive as text, never as markup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from models.audit import AuditEvent
from services import registry, tokens
from services.playbook import load_playbook
from tests.harness.markup import live, parsed_texts
from tests.harness.payloads import new_trigger_id
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.unit.test_blocks import assert_valid_message

pytestmark = pytest.mark.e2e

PLAYBOOK = Path(__file__).parent / "playbooks" / "usage_views.yaml"
ADMIN = "U0ADMIN"
OWNER = "U0OWN"
STRANGER = "U0NOBODY"
HOSTILE = "<!channel> *bold*"


@pytest.fixture
def usage_bot(bot_factory, fake_slack, db):
    for user in (ADMIN, OWNER, STRANGER, "U0BOB", "U0ALICE"):
        fake_slack.add_user(user)
    now = datetime.now(UTC)
    with db.session() as s:
        token = tokens.create(s, name="collector", scopes="ingest", now=now, actor="cli:test")
        use_case = registry.create(s, "usecase", {
            "title": "Copy drafts", "description": "Drafts marketing copy.", "owner": OWNER,
            "audience": "external", "purpose": "Faster first drafts", "risk_tier": "limited",
            "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud\nAnthropic / claude-3-opus"},
            authority=registry.Authority(OWNER, frozenset({ADMIN})), now=now,
            playbook=load_playbook(PLAYBOOK).playbook).id
    # The bot's clock alone: this is about reading usage, not the watcher that counts it.
    bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_IN_WEB="false").start()
    return bot, token, use_case


@pytest.fixture
def slack(usage_bot, fake_slack):
    with SignedSlackClient(usage_bot[0].url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


def send(bot, token: str, events: list[dict]) -> dict:
    answer = httpx.post(f"{bot.url}/api/v1/ai-events", json={"events": events}, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def event(n: int, days_ago: float, model: str, **extra) -> dict:
    at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"id": f"evt-{n}", "started_at": at, "model": model, "provider": "openai",
            "service": "copy-writer", "user": "U0BOB", "input_tokens": 100, "output_tokens": 10,
            "cost_usd": 0.002, **extra}


@pytest.fixture
def calls(usage_bot):
    bot, token, _ = usage_bot
    events = [event(n, 1 + n / 10, "gpt-4o-2024-08-06") for n in range(5)]
    events += [event(10 + n, 2, "claude-3-5-sonnet", provider="anthropic", user="alice@acme.example",
                     service="support-bot", use_case="UC-1") for n in range(2)]
    events += [event(20, 3, HOSTILE, provider=HOSTILE, service="copy-" + HOSTILE, user="U0ALICE"),
               event(30, 10, "gpt-4o"),  # before the week
               event(31, 40, "gpt-3.5-turbo")]  # before the 30 days a record shows
    assert send(bot, token, events) == {"accepted": 10, "duplicates": 0, "rejected": 0}


def ask(slack, fake, command: str, text: str, user: str = ADMIN) -> dict:
    """The answer to a slash command: the ack's own body, or what the listener sent after acking."""
    trigger = new_trigger_id()
    resp = slack.command(command, text, user_id=user, trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    if resp.content:
        return resp.json()
    return fake.wait_for_responses(1, key=trigger, timeout=20)[0][1]


def text_of(message: dict) -> str:
    return "\n".join(parsed_texts(message))


def test_an_admin_reads_the_weeks_usage_with_filters(slack, fake_slack, calls):
    week = ask(slack, fake_slack, "/ai-audit", "usage since:7d")
    assert_valid_message(week)
    assert week["response_type"] == "ephemeral"
    text = text_of(week)
    assert "*8 AI calls* by *2 people* and *3 services* · 800 tokens in, 80 out · $0.02 reported cost" in text
    assert "*Top models*\n1. gpt-4o-2024-08-06 (openai) — 5 calls · 550 tokens · $0.01\n" \
           "2. claude-3-5-sonnet (anthropic) — 2 calls" in text
    assert "*Top people*\n1. <@U0BOB> — 5 calls\n2. <@U0ALICE> — 3 calls" in text  # alice by e-mail and by id
    assert live(week) == [] and "&lt;!channel&gt; *bold* (&lt;!channel&gt; *bold*)" in text

    gpt = ask(slack, fake_slack, "/ai-audit", "usage model:gpt-4o since:30d")
    assert "*6 AI calls* by *1 person* and *1 service*" in text_of(gpt)  # the dated version, and gpt-4o itself
    alice = ask(slack, fake_slack, "/ai-audit", "usage user:<@U0ALICE|alice>")
    assert "*3 AI calls* by *1 person* and *2 services*" in text_of(alice)
    uc = ask(slack, fake_slack, "/ai-audit", "usage usecase:UC-1")  # named, or its service mapped
    assert "*8 AI calls*" in text_of(uc) and "filter `usecase:UC-1`" in text_of(uc)


def test_usage_is_refused_to_anyone_but_the_admins_and_the_refusal_is_on_the_log(slack, fake_slack, db, calls):
    refused = ask(slack, fake_slack, "/ai-audit", "usage since:7d", user=OWNER)
    assert "Only the playbook's admins (<@U0ADMIN>) may read AI usage" in refused["text"]
    assert "calls" not in text_of(refused)
    with db.session() as s:
        denied = s.exec(select(AuditEvent).where(AuditEvent.action == "audit.denied")).all()
    assert [(d.actor, d.payload["asked"]) for d in denied] == [(OWNER, "/ai-audit usage since:7d")]


def test_a_bad_usage_filter_says_what_was_expected(slack, fake_slack, calls):
    answer = ask(slack, fake_slack, "/ai-audit", "usage colour:blue")
    assert "`colour:blue` is not a usage filter" in answer["text"] and "`usecase:UC-3`" in answer["text"]


def test_the_use_case_record_shows_what_was_observed_beside_what_it_documents(slack, fake_slack, usage_bot, calls):
    use_case = usage_bot[2]
    shown = ask(slack, fake_slack, "/ai-usecase", f"show UC-{use_case}", user=STRANGER)
    assert_valid_message(shown)
    text = text_of(shown)
    assert f"*Observed in the last 30 days:* 9 AI calls attributed to UC-{use_case}" in text
    assert "*Documented and seen*\n• OpenAI / gpt-4o / 2024-08-06 — seen as gpt-4o-2024-08-06, gpt-4o · 6 calls" in text
    assert "*Seen but not documented* (add them to the record, or find out why)\n" \
           "• claude-3-5-sonnet (anthropic) · 2 calls" in text
    assert "• &lt;!channel&gt; *bold* (&lt;!channel&gt; *bold*) · 1 call" in text
    assert "*Documented but not seen in 30 days*\n• Anthropic / claude-3-opus" in text
    assert "*Services seen*\n• copy-writer · 6 calls" in text and "• support-bot · 2 calls" in text
    assert "gpt-3.5-turbo" not in text  # 40 days ago
    assert live(shown) == []


def test_app_home_shows_the_admins_the_weeks_usage(slack, fake_slack, calls):
    for user in (ADMIN, OWNER):
        assert slack.event({"type": "app_home_opened", "user": user, "tab": "home"}).status_code == 200
    views = {user: fake_slack._poll(lambda u=user: [c.args["view"] for c in fake_slack.calls_to("views.publish")
                                                     if c.args.get("user_id") == u], 1, 20, f"Home for {user}")[0]
             for user in (ADMIN, OWNER)}
    admin = "\n".join(parsed_texts(views[ADMIN]))
    assert "*AI usage, last 7 days*\n8 AI calls by 2 people\n*Top models:* gpt-4o-2024-08-06 (openai) 5 · " in admin
    assert "No usage alert is open." in admin
    assert "AI usage" not in "\n".join(parsed_texts(views[OWNER]))

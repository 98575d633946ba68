"""App Home over the real HTTP path: a keeper of 500 due records, paged ten at a time, and the
"Review" button on a record. The database is seeded through the services before the bot starts;
the bot's clock is the real one."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.views import View
from sqlmodel import col, select

from blocks.home import PAGE
from blocks.registry import REVIEWED
from models.audit import AuditEvent
from models.registry import UseCase, Vendor
from services import registry
from tests.e2e.registry_seed import (
    PB,
    PLAYBOOK,
    incident,
    sign_off,
    usecase,
    vendor,
    who,
)
from tests.harness.fake_slack import FakeSlack
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

KEEPER = "U0KEEP"
NEXT = f"{PAGE}_next_records"
PREVIOUS = f"{PAGE}_prev_records"
RECORDS_HEADING = "*Your records due for review*"


@pytest.fixture
def start_bot(bot_factory, fake_slack):
    def start():
        bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK)).start()
        return SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack)
    return start


# --- reading the Home tab the bot published ------------------------------------------------------


def publishes(fake: FakeSlack, user: str = KEEPER) -> list[dict]:
    return [c.args["view"] for c in fake.calls_to("views.publish") if c.args.get("user_id") == user]


def wait_publish(fake: FakeSlack, count: int, user: str = KEEPER, timeout: float = 20) -> dict:
    """The `count`-th Home view published for `user`."""
    return fake._poll(lambda: publishes(fake, user), count, timeout, f"{count} views.publish for {user}")[count - 1]


def stored_home(fake: FakeSlack, user: str = KEEPER) -> dict:
    """The Home tab as FakeSlack stores it (id, hash, state…): what Slack sends back on a click."""
    with fake._lock:
        view_id = fake._workspace.home_views[user]
    return fake.view(view_id)


def block_text(block: dict) -> str:
    if isinstance(block.get("text"), dict):
        return block["text"]["text"]
    return " ".join(e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)
                    and isinstance(e.get("text"), str))


def records_section(view: dict, heading: str = RECORDS_HEADING) -> dict:
    """{"total", "refs", "values", "shown", "buttons"} of one records section of the Home tab."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if b["type"] == "section" and block_text(b).startswith(heading))
    total = int(re.search(r"\((\d+)\)$", block_text(blocks[start])).group(1))
    refs, values, shown, buttons = [], [], None, {}
    for block in blocks[start + 1:]:
        if block["type"] == "divider":
            break
        if block["type"] == "section" and (block.get("accessory") or {}).get("action_id") == REVIEWED:
            refs.append(re.match(r"^\*((?:UC|V)-\d+)\*", block_text(block)).group(1))
            values.append(block["accessory"]["value"])
        elif block["type"] == "context" and re.fullmatch(r"\d+–\d+ of \d+", block_text(block)):
            shown = block_text(block)
        elif block["type"] == "actions":
            buttons = {e["action_id"]: e["value"] for e in block["elements"]}
    return {"total": total, "refs": refs, "values": values, "shown": shown, "buttons": buttons}


def assert_valid_home(view: dict) -> None:
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100, f"{len(view['blocks'])} blocks; a Home tab holds 100"
    View(**view).validate_json()  # Block Kit's own limits: text lengths, elements per block…


def click(slack: SignedSlackClient, fake: FakeSlack, action_id: str, value: str | None = None):
    """A click in the keeper's Home tab: a block_actions payload whose container is the view."""
    resp = slack.block_action(action_id, value, user_id=KEEPER, view=stored_home(fake))
    assert resp.status_code == 200
    return resp


# --- seeding ---------------------------------------------------------------------------------------


def seed_keeper(db, now: datetime) -> list[tuple[datetime, str]]:
    """500 records KEEPER keeps, every one due within the week or overdue; (next review, ref) of
    each. Risk "minimal"/"low" reviews come every 5 days (the playbook), so records documented
    over the last hours are due in 4–5 days: no revisit nudge falls due while the test runs.
    Three more were documented 5 days ago and are overdue by hours (their nudges go out)."""
    due: list[tuple[datetime, str]] = []
    with db.session() as s:
        for i in range(497):
            at = now - timedelta(minutes=i + 1)
            if i % 5 == 4:
                # Most vendors KEEPER prepares (assignee); five KEEPER signs off (reviewer).
                people = {"assignee": "U0ASSIGN", "reviewer": KEEPER} if i < 25 else \
                    {"assignee": KEEPER, "reviewer": "U0VREV"}
                record = registry.create(s, "vendor", {
                    "name": f"Vendor {i:03d}", "provides": "LLM API", "trains_on_our_data": "no",
                    "deployment": "cloud", "injection_tested": "passed", "risk_level": "low",
                    "review_status": "not_started", **people}, authority=who(people["assignee"]), now=at,
                    playbook=PB)
                due.append((record.next_review_at, registry.ref("vendor", record.id)))
            else:
                record_id = usecase(db, session=s, title=f"Use case {i:03d}", owner=KEEPER, risk_tier="minimal",
                                    now=at)
                due.append((s.get(UseCase, record_id).next_review_at, registry.ref("usecase", record_id)))
        for k in range(3):
            record_id = usecase(db, session=s, title=f"Overdue {k}", owner=KEEPER, risk_tier="minimal",
                                now=now - timedelta(days=5, hours=k + 1))
            due.append((s.get(UseCase, record_id).next_review_at, registry.ref("usecase", record_id)))
    return sorted(due)


def test_500_due_records_page_ten_at_a_time_soonest_first(start_bot, fake_slack, db):
    now = datetime.now(UTC)
    expected = [ref for _, ref in seed_keeper(db, now)]
    assert len(expected) == 500
    for j in range(12):  # sign-offs waiting for KEEPER (a modeler), oldest first
        sign_off(db, "model", title=f"Model change {j:02d}", requester="U0DEV", now=now - timedelta(hours=20 - j))
    for j in range(3):
        sign_off(db, "code", title=f"My change {j}", requester=KEEPER, now=now - timedelta(hours=5 - j))
    for j in range(7):
        incident(db, title=f"Incident {j}", now=now - timedelta(hours=9 - j))
    slack = start_bot()

    with slack:
        assert slack.event({"type": "app_home_opened", "user": KEEPER, "tab": "home"}).status_code == 200
        first = wait_publish(fake_slack, 1)
        assert_valid_home(first)
        records = records_section(first)
        assert records["total"] == 500
        assert records["refs"] == expected[:10], "the ten soonest reviews, soonest first"
        assert records["shown"] == "1–10 of 500"
        assert records["buttons"] == {NEXT: "records:10"}
        text = json.dumps(first["blocks"])
        assert "Model change 00" in text and "Model change 09" in text and "Model change 10" not in text
        assert "More wait for you" in text
        assert "My change 2" in text
        assert "*Open AI incidents* (7)" in text
        assert records_section(first, "*Vendor reviews you sign off*")["total"] == 5
        assert "*primary*: <@U0PRI1>" in text

        click(slack, fake_slack, NEXT)
        second = wait_publish(fake_slack, 2)
        assert_valid_home(second)
        records = records_section(second)
        assert records["total"] == 500
        assert records["refs"] == expected[10:20]
        assert records["shown"] == "11–20 of 500"
        assert records["buttons"] == {PREVIOUS: "records:0", NEXT: "records:20"}

        click(slack, fake_slack, PREVIOUS)
        assert records_section(wait_publish(fake_slack, 3))["refs"] == expected[:10]


def test_records_sharing_a_review_date_page_without_repeats_or_gaps(start_bot, fake_slack, db):
    """Review dates picked in the form are all at 09:00 (playbook time): many records share one.
    The pages must still be consecutive slices of one order: 25 records, 10 + 10 + 5."""
    now = datetime.now(UTC)
    day = (now.astimezone(PB.tz) + timedelta(days=3)).date().isoformat()
    ids = [usecase(db, title=f"Same day {i:02d}", owner=KEEPER, next_review=day, now=now) for i in range(25)]
    slack = start_bot()

    with slack:
        slack.event({"type": "app_home_opened", "user": KEEPER, "tab": "home"})
        pages = [records_section(wait_publish(fake_slack, 1))]
        for n in (2, 3):
            click(slack, fake_slack, NEXT)
            pages.append(records_section(wait_publish(fake_slack, n)))
    assert [p["shown"] for p in pages] == ["1–10 of 25", "11–20 of 25", "21–25 of 25"]
    seen = [ref for page in pages for ref in page["refs"]]
    assert sorted(seen) == sorted(f"UC-{i}" for i in ids), f"pages showed {[p['refs'] for p in pages]}"


def test_review_in_app_home_marks_the_record_reviewed(start_bot, fake_slack, db):
    now = datetime.now(UTC)
    # Eleven use cases due within two days, one overdue (90-day cadence), and a vendor KEEPER prepares.
    ids = [usecase(db, title=f"Use case {i:02d}", owner=KEEPER, now=now - timedelta(days=88, hours=i))
           for i in range(11)]
    overdue = usecase(db, title="Overdue notes", owner=KEEPER, now=now - timedelta(days=93))
    prepared = vendor(db, name="Acme LLM", assignee=KEEPER, reviewer="U0VREV", now=now - timedelta(days=179))
    slack = start_bot()

    with slack:
        slack.event({"type": "app_home_opened", "user": KEEPER, "tab": "home"})
        records = records_section(wait_publish(fake_slack, 1))
        assert records["total"] == 13
        assert records["refs"][0] == f"UC-{overdue}"
        assert records["values"][0] == f"usecase:{overdue}"

        click(slack, fake_slack, REVIEWED, f"usecase:{overdue}")
        after = wait_publish(fake_slack, 2)
        assert_valid_home(after)
        notice = after["blocks"][1]
        assert notice["type"] == "section" and block_text(notice).startswith(":information_source: ")
        assert f"UC-{overdue} Overdue notes marked reviewed by <@{KEEPER}>" in block_text(notice)
        records = records_section(after)
        assert records["total"] == 12, "one fewer record due"
        assert f"UC-{overdue}" not in records["refs"]
        assert records["refs"][:3] == [f"V-{prepared}", f"UC-{ids[10]}", f"UC-{ids[9]}"]

        with db.session() as s:
            record = s.get(UseCase, overdue)
            assert record.last_reviewed_by == KEEPER and record.last_reviewed_at is not None
            assert record.next_review_at > now + timedelta(days=89)
            events = s.exec(select(AuditEvent).where(AuditEvent.entity_type == "usecase",
                                                     AuditEvent.entity_id == str(overdue))
                            .order_by(col(AuditEvent.id))).all()
        assert [(e.action, e.actor) for e in events][-1] == ("usecase.reviewed", KEEPER)

        # The vendor's review is signed off by its reviewer, never by the assignee who prepared it.
        click(slack, fake_slack, REVIEWED, f"vendor:{prepared}")
        refused = wait_publish(fake_slack, 3)
        assert "separation of duties" in block_text(refused["blocks"][1])
        assert records_section(refused)["total"] == 12
        with db.session() as s:
            assert s.get(Vendor, prepared).last_reviewed_by is None
            denied = s.exec(select(AuditEvent).where(AuditEvent.action == "vendor.denied")).all()
        assert [(e.entity_id, e.actor, e.payload["attempted"]) for e in denied] == [
            (str(prepared), KEEPER, "mark_reviewed")]

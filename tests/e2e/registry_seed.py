"""Seeding the registry end-to-end tests' database through the services themselves (the same
calls the bot makes), and reading what the bot sent back out of FakeSlack.

Seeding is not mocking: records, sign-offs and incidents are written by our own code into the
database the bot process runs on, each at the moment (`now`) the test says it happened.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

import escalation
from models.approval import ApprovalRequest
from models.registry import DigestRun
from services import approvals, registry
from services.playbook import load_playbook
from services.registry import digest
from tests.harness.fake_slack import FakeSlack

PLAYBOOK = Path(__file__).parent / "playbooks" / "registry_digest.yaml"
LOADED = load_playbook(PLAYBOOK)
PB = LOADED.playbook
TZ = ZoneInfo(PB.timezone)
MEMBERS = {name: list(group.members) for name, group in PB.groups.items() if group.members}
GOVERNORS = frozenset(PB.admins)

DIGEST = "C0DIGEST"
GOVERNANCE = "C0GOV"
TEAM_DIGEST_KEY = re.compile(r"^digest:team:")
HOME_LINK = "slack://app?team=T0001&id=A0001&tab=home"  # FakeSlack's auth.test and bots.info
DAY = timedelta(days=1)

_PULLS = itertools.count(1)


# --- time --------------------------------------------------------------------------------------


def next_digest_time(after: datetime) -> datetime:
    """The first Monday 09:00 Berlin time strictly after `after` (the playbook's `mon 09:00`),
    worked out here rather than with the bot's own schedule code."""
    local = after.astimezone(TZ)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if day.weekday() == 0:
            candidate = datetime(day.year, day.month, day.day, 9, 0, tzinfo=TZ)
            if candidate > after:
                return candidate.astimezone(UTC)
    raise AssertionError("a Monday comes within eight days")


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(TZ).isocalendar()
    return f"{year}-W{week:02d}"


def set_clock(clock_file: Path, moment: datetime) -> None:
    """Make the bot's clock read `moment` now (and run on from there at the real pace)."""
    clock_file.write_text(str((moment - datetime.now(UTC)).total_seconds()))


# --- seeding -----------------------------------------------------------------------------------


def who(user: str) -> registry.Authority:
    return registry.Authority(user, GOVERNORS)


def usecase(db, *, title: str, owner: str, now: datetime, session=None, **over: Any) -> int:
    """A use case documented by its owner at `now`; its first review follows the cadence."""
    raw = {"title": title, "description": f"{title}: what the AI does", "owner": owner,
           "audience": "internal", "purpose": "Saves time", "risk_tier": "limited",
           "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud", **over}
    if session is not None:
        return registry.create(session, "usecase", raw, authority=who(owner), now=now, playbook=PB).id
    with db.session() as s:
        return registry.create(s, "usecase", raw, authority=who(owner), now=now, playbook=PB).id


def vendor(db, *, name: str, assignee: str, reviewer: str | None, now: datetime, by: str | None = None,
           session=None, **over: Any) -> int:
    raw = {"name": name, "provides": "LLM API", "trains_on_our_data": "no", "deployment": "cloud",
           "injection_tested": "passed", "risk_level": "medium", "review_status": "not_started",
           "assignee": assignee, "reviewer": reviewer, **over}
    author = who(by or assignee)
    if session is not None:
        return registry.create(session, "vendor", raw, authority=author, now=now, playbook=PB).id
    with db.session() as s:
        return registry.create(s, "vendor", raw, authority=author, now=now, playbook=PB).id


def review(db, kind: str, record_id: int, *, by: str, now: datetime) -> None:
    with db.session() as s:
        registry.mark_reviewed(s, kind, record_id, authority=who(by), now=now, playbook=PB)


def sign_off(db, kind: str, *, title: str, requester: str, now: datetime, session=None) -> int:
    def open_(s):
        return approvals.open_request(
            s, playbook=LOADED, kind=kind, audience="internal", title=title,
            reference=f"https://github.com/acme/app/pull/{next(_PULLS)}", requester=requester, now=now,
            group_members=MEMBERS, ai_tool="Copilot").id

    if session is not None:
        return open_(session)
    with db.session() as s:
        return open_(s)


def vote(db, request_id: int, user: str, *, now: datetime, decision: str = "approve") -> str:
    with db.session() as s:
        revision = s.get(ApprovalRequest, request_id).revision
        return approvals.decide(s, request_id=request_id, revision=revision, user=user, decision=decision,
                                now=now, group_members=MEMBERS, governance_channel=GOVERNANCE).outcome


def incident(db, *, title: str, now: datetime, reporter: str = "U0REPORT") -> int:
    with db.session() as s:
        return escalation.open_incident(s, playbook=LOADED, severity="sev3", title=title,
                                        reporter=reporter, now=now).id


def resolve_incident(db, incident_id: int, *, now: datetime, reporter: str = "U0REPORT") -> None:
    with db.session() as s:
        escalation.resolve(s, incident_id=incident_id, user=reporter, now=now, summary="Patched the prompt")


def subscribe(db, user: str, *, now: datetime) -> None:
    with db.session() as s:
        digest.subscribe(s, user=user, on=True, now=now)


# --- reading the database ----------------------------------------------------------------------


def digest_runs(db) -> list[tuple[str, str]]:
    """(scope, week) of every digest_run row, oldest first."""
    with db.session() as s:
        return [(scope, week) for scope, week in
                s.exec(select(DigestRun.scope, DigestRun.week).order_by(col(DigestRun.id))).all()]


def owed_since(db) -> datetime | None:
    """When the bot first counted digests as owed (the "since" row), if it has yet."""
    with db.session() as s:
        found = s.exec(select(DigestRun.due_at).where(DigestRun.scope == "since")).first()
    return None if found is None else found.replace(tzinfo=found.tzinfo or UTC)


def team_weeks(db) -> list[str]:
    """The weeks the team's digest was claimed for, one per row."""
    return [week for scope, week in digest_runs(db) if scope == "team"]


def user_weeks(db, user: str) -> list[str]:
    return [week for scope, week in digest_runs(db) if scope == f"user:{user}"]


# --- reading what the bot sent -----------------------------------------------------------------


def outbox_key(call_args: dict) -> str | None:
    return ((call_args.get("metadata") or {}).get("event_payload") or {}).get("key")


def team_digest_calls(fake: FakeSlack, channel: str = DIGEST) -> list:
    """chat.postMessage calls that posted a team digest (the outbox key says which message it is)."""
    return [c for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == channel and TEAM_DIGEST_KEY.match(outbox_key(c.args) or "")]


def digest_like_posts(fake: FakeSlack, channel: str = DIGEST) -> list:
    """Every post in `channel` whose text reads as a weekly digest, whatever its key."""
    return [c for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == channel
            and (c.args.get("text") or "").startswith("Weekly AI governance digest")]


def personal_digest_calls(fake: FakeSlack, user: str) -> list:
    return [c for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == user and (outbox_key(c.args) or "").startswith(f"digest:user:{user}:")]


def wait_team_digests(fake: FakeSlack, count: int, timeout: float = 20) -> list:
    return fake._poll(lambda: team_digest_calls(fake), count, timeout, f"{count} team digest(s) in {DIGEST}")


SECTION_NAMES = {
    "Sign-offs waiting": "waiting",
    "Records due or overdue": "due",
    "Vendors needing review": "vendors",
    "Use cases relying on vendors": "flagged",
    "Open AI incidents": "incidents",
}
_HEADING = re.compile(r"^\*(?:\S+ )?(?P<heading>.+): (?P<total>\d+)\*$")


def digest_sections(blocks: list[dict]) -> dict[str, Any]:
    """{section: {"total", "lines", "more"}} plus "since" (the since-last-week sentence) and
    "header", read from a digest message's blocks as Slack would show them."""
    found: dict[str, Any] = {}
    current: str | None = None
    for block in blocks:
        kind = block["type"]
        text = (block.get("text") or {}).get("text", "") if kind in ("section", "header") else ""
        if kind == "header":
            found["header"] = text
            continue
        if kind == "section" and text.startswith("*Since last week:*"):
            found["since"] = text.removeprefix("*Since last week:*").strip()
            current = None
            continue
        heading = _HEADING.match(text) if kind == "section" else None
        if heading:
            name = next((key for words, key in SECTION_NAMES.items() if words in heading["heading"]), None)
            assert name is not None, f"unexpected digest section {text!r}"
            current = name
            found[name] = {"total": int(heading["total"]), "lines": [], "more": None}
        elif kind == "section" and current is not None:
            found[current]["lines"] = text.split("\n")
        elif kind == "context" and current is not None:
            found[current]["more"] = " ".join(e.get("text", "") for e in block.get("elements", []))
    return found


def waiting_line_facts(line: str) -> tuple[int, int, list[str]]:
    """(request id, age in days, the people shown holding it) from one "Sign-offs waiting" line."""
    match = re.match(r"^\*#(\d+)\* .* · (\d+) d old · by <@\w+> · waiting on (.*)$", line)
    assert match, f"not a waiting line: {line!r}"
    return int(match.group(1)), int(match.group(2)), re.findall(r"<@(\w+)>", match.group(3))


def line_ref(line: str) -> str:
    """The record ref (UC-12, V-3) a record line starts with."""
    match = re.match(r"^\*((?:UC|V)-\d+)\*", line)
    assert match, f"not a record line: {line!r}"
    return match.group(1)

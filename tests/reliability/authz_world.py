"""The authorization matrix's world: one bot process, one fake Slack and one database for a
whole module (a process per cell would take minutes), the people who play each role, and what
a cell reads back — the audit events it caused and every domain row, before and after.

Each cell seeds its own fresh request, incident or record through the services (as
tests/e2e/registry_seed.py does), so cells never depend on each other's leftovers.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.db import Database
from models.audit import AuditEvent
from models.timer import FIRING, PENDING, Timer
from services.playbook import load_playbook
from tests.conftest import migrated_database, own_database_url
from tests.e2e.waiting import until
from tests.harness.fake_slack import FakeSlack
from tests.harness.paths import require_shared_file
from tests.harness.server import SIGNING_SECRET, BotProcess, bot_env, free_port
from tests.harness.signing import SignedSlackClient

PLAYBOOK = Path(__file__).parent / "playbooks" / "authz.yaml"
LOADED = load_playbook(PLAYBOOK)
PB = LOADED.playbook
MEMBERS = {name: list(group.members or ()) for name, group in PB.groups.items()}
GOVERNORS = frozenset({*PB.admins, *MEMBERS["governors"]})
APPROVALS, INCIDENTS = "C0APPROVE", "C0INC"

# The roles of the issue, each played by one person (see the playbook for their groups).
REQUESTER = "requester"  # asked for the sign-off (a reviewer too), reported the incident
APPROVER = "approver"  # in the approver group of the kind (and a documentation approver)
OTHER_APPROVER = "other-group approver"  # approves another kind only
ADMIN = "admin"  # the playbook's admins
OUTSIDER = "outsider"  # in no group, named nowhere
OWNER = "record owner"  # owns the use case, is the vendor's assignee
REVIEWER = "vendor reviewer"  # the vendor's reviewer
PAGED = "paged person"  # paged for the incident, on call for ai-primary
DEACTIVATED = "deactivated user"  # every power of an approver and a responder, but gone
PEOPLE = {REQUESTER: "U0REQ", APPROVER: "U0APPR", OTHER_APPROVER: "U0LEGAL", ADMIN: "U0ADMIN",
          OUTSIDER: "U0OUT", OWNER: "U0OWNER", REVIEWER: "U0VREV", PAGED: "U0PAGED",
          DEACTIVATED: "U0GONE"}
ROLES = tuple(PEOPLE)

# Every refusal the product audits, whatever the domain.
DENIALS = frozenset({"approval.denied", "incident.denied", "usecase.denied", "vendor.denied",
                     "playbook.denied", "oncall.override_denied", "access.denied"})
# The rows a refusal must leave as they were; the outbox, the audit log and delivery claims
# are left out, as background work and the refusal itself write them.
DOMAIN_TABLES = ("approval_request", "approval_vote", "approval_checklist", "incident", "incident_page",
                 "oncall_override", "use_case", "vendor", "use_case_vendor", "record_change",
                 "digest_subscriber", "timer")
TIMER_COLUMNS = ("kind", "ref", "due_at", "status", "payload")  # not who holds a claim's lease


@dataclass(frozen=True)
class Event:
    id: int
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: dict


@dataclass
class World:
    """What every cell works with; `notes` keeps what is worth reading only once."""

    db: Database
    fake: FakeSlack
    slack: SignedSlackClient
    bot: BotProcess
    playbook_copy: Path
    notes: dict[str, Any] = field(default_factory=dict)

    # -- the audit log -------------------------------------------------------------------

    def audit_mark(self) -> int:
        with self.db.session() as s:
            return s.exec(select(AuditEvent.id).order_by(col(AuditEvent.id).desc()).limit(1)).first() or 0

    def events_since(self, mark: int, *, action: str | None = None, entity_id: str | None = None) -> list[Event]:
        query = select(AuditEvent).where(col(AuditEvent.id) > mark)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        if entity_id is not None:
            query = query.where(AuditEvent.entity_id == entity_id)
        with self.db.session() as s:
            rows = s.exec(query.order_by(col(AuditEvent.id))).all()
            return [Event(e.id, e.actor, e.action, e.entity_type, e.entity_id, dict(e.payload or {}))
                    for e in rows]

    def wait_events(self, mark: int, user: str, done: Callable[[list[Event]], bool],
                    timeout: float) -> list[Event]:
        """`user`'s events since `mark` once `done` says they are complete, or whatever there
        is after `timeout` (the cell then judges what it got)."""
        def mine() -> list[Event]:
            return [e for e in self.events_since(mark) if e.actor == user]

        try:
            return until(lambda: (lambda found: [found] if done(found) else None)(mine()),
                         timeout=timeout, what="events")[0]
        except AssertionError:
            return mine()

    # -- every domain row ----------------------------------------------------------------

    def quiet(self, timeout: float = 15) -> None:
        """Wait until no timer is due or firing: what an earlier cell set going (the first page
        of an incident it opened) has happened, and cannot land in this cell's snapshots."""
        def due() -> list:
            with self.db.session() as s:
                return s.exec(select(Timer.id).where(col(Timer.status).in_([PENDING, FIRING]),
                                                     Timer.due_at <= datetime.now(UTC))).all()
        until(lambda: not due(), timeout=timeout, what="the bot's clock to fire every due timer")

    def snapshot(self) -> dict[str, list[tuple]]:
        if "tables" not in self.notes:
            meta = MetaData()
            meta.reflect(self.db.engine, only=DOMAIN_TABLES)
            self.notes["tables"] = meta.tables
        found = {}
        with self.db.engine.connect() as conn:
            for name in DOMAIN_TABLES:
                table = self.notes["tables"][name]
                columns = [table.c[c] for c in TIMER_COLUMNS] if name == "timer" else list(table.c)
                rows = conn.execute(sa_select(*columns)).all()
                found[name] = sorted((tuple(str(v) for v in row) for row in rows))
        return found

    # -- Slack ---------------------------------------------------------------------------

    def call_mark(self) -> int:
        return len(self.fake.calls)

    def answered(self, *, trigger_id: str, user: str, calls_from: int,
                 response: httpx.Response | None = None, timeout: float = 10) -> None:
        """Wait until the bot has answered the person: the HTTP ack said something, or it
        posted to this request's response_url, opened a form on its trigger, republished
        their App Home, or wrote to them directly (not through the outbox)."""
        if response is not None and response.content:
            return

        def seen() -> bool:
            if any(key == trigger_id for key, _ in self.fake.responses):
                return True
            for call in self.fake.calls[calls_from:]:
                args = call.args
                if call.method == "views.open" and args.get("trigger_id") == trigger_id:
                    return True
                if call.method == "views.publish" and args.get("user_id") == user:
                    return True
                direct = not (args.get("metadata") or {}).get("event_type")
                if call.method == "chat.postEphemeral" and args.get("user") == user:
                    return True
                if call.method == "chat.postMessage" and args.get("channel") == user and direct:
                    return True
            return False

        self.fake._poll(lambda: [1] if seen() else [], 1, timeout, f"an answer to {user}")

    def response_to(self, trigger_id: str) -> dict | None:
        return next((body for key, body in reversed(self.fake.responses) if key == trigger_id), None)

    def opened_view(self, trigger_id: str, calls_from: int, callback_id: str) -> str | None:
        """The id of the `callback_id` modal the bot opened on this trigger, if it opened one
        (cells run one at a time, so the newest such modal is this trigger's)."""
        opened = any(c.method == "views.open" and c.args.get("trigger_id") == trigger_id
                     for c in self.fake.calls[calls_from:])
        if not opened:
            return None
        view_id = self.fake.last_opened_view_id(callback_id)
        return view_id


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("authz")
    with own_database_url(tmp) as url, migrated_database(url) as db:
        yield from _world(tmp, url, db)


def _world(tmp: Path, url: str, db: Database) -> Iterator[World]:
    fake = FakeSlack(spec_path=require_shared_file("slack_web_openapi_v2.json"))
    for role, user in PEOPLE.items():
        fake.add_user(user, deleted=role == DEACTIVATED)
    fake.start()
    # A copy, so the admin's reload can change the file the bot reads without touching ours.
    playbook_copy = tmp / "playbook.yaml"
    shutil.copy(PLAYBOOK, playbook_copy)
    # Slack faults are another suite's business: a generous timeout keeps a busy machine's slow
    # fake Slack from failing a listener here.
    env = bot_env(database_url=url, slack_api_url=fake.base_url, port=free_port(),
                  PLAYBOOK_PATH=str(playbook_copy), SLACK_API_TIMEOUT="10")
    bot = BotProcess("serve", env, tmp).start()
    client = SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake, timeout=30)
    try:
        yield World(db, fake, client, bot, playbook_copy)
    finally:
        client.close()
        bot.stop()
        fake.stop()
    assert fake.violations == [], "\n".join(fake.violations)
    assert "Traceback" not in bot.output(), bot.output()[-4000:]


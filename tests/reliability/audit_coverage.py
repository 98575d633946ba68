"""The audit coverage table's world and its steps: the authorization matrix's world
(authz_world.py: one bot process, one fake Slack and one database for the module, the same
people) on an injected clock, so that a row can make its own timers come due by moving time.

A row reads the audit log between a mark taken after its seed and the moment it is settled:
the bot has finished the request (its delivery claim is settled, or the answer came back),
every timer due on the bot's clock has fired and the outbox is empty. Before each row the world
is made quiet and every timer an earlier row left pending is cancelled, so that moving the
clock fires only the row's own.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import SQLModel, col, func, select

import escalation
from blocks.approvals import action_value
from bot.clock import OffsetFileClock
from models.audit import AuditCheckpoint
from models.inbound import STARTED, InboundDelivery
from models.incident import IncidentPage
from models.registry import DigestSubscriber
from models.timer import CANCELLED, FIRING, PENDING, Timer
from services import approvals, registry, tokens
from services.playbook import load_playbook
from services.registry import digest
from services.registry.revisit import stamp
from services.usage import alerts as usage_alerts
from services.usage.rules import Candidate
from tests.conftest import migrated_database, own_database_url
from tests.e2e.registry_support import form_state
from tests.e2e.waiting import outbox_drained, until
from tests.harness.fake_slack import FakeSlack
from tests.harness.paths import require_shared_file
from tests.harness.payloads import new_event_id, new_trigger_id
from tests.harness.server import SIGNING_SECRET, BotProcess, bot_env, free_port
from tests.harness.signing import SignedSlackClient
from tests.reliability.authz_world import DEACTIVATED, PEOPLE, Event, World

PLAYBOOK = Path(__file__).parent / "playbooks" / "audit_coverage.yaml"
BASE = PLAYBOOK.read_text()
LOADED = load_playbook(PLAYBOOK)
PB = LOADED.playbook
MEMBERS = {name: list(group.members or ()) for name, group in PB.groups.items()}
GOVERNORS = frozenset({*PB.admins, *MEMBERS["governors"]})
APPROVALS, INCIDENTS, GOVERNANCE, TEAM = "C0APPROVE", "C0INC", "C0GOV", "C0TEAM"
GONE_CHANNEL = "C0GONE"  # the `archived` kind's channel, which Slack does not have
SYSTEM = "countersign"  # the bot itself, as its events name it
API_TOKEN = "coverage-token-0123456789abcdef"
# Whatever a row does, a settled world needs no more than this to come back.
SETTLE = 20.0
# The sequencer's own checkpoints (services/audit_log/sealer.py), written by the bot itself
# whenever one is due, whichever row is running: no row's account of what it caused. (An
# admin's `/ai-audit checkpoint` is theirs, and is judged.)
SEALER_ACTION = "audit.checkpoint"
_serial = itertools.count(1)

Target = dict[str, Any]


@dataclass
class Coverage(World):
    clock_file: Path = Path()

    # -- time ----------------------------------------------------------------------------

    def now(self) -> datetime:
        return OffsetFileClock(str(self.clock_file)).now()

    def advance(self, delta: timedelta) -> None:
        """Move the bot's clock (and Slack's, which follows it) forward by `delta`."""
        offset = float(self.clock_file.read_text() or 0)
        self.clock_file.write_text(str(offset + delta.total_seconds()))

    # -- settling ------------------------------------------------------------------------

    def due_timers(self) -> list[int]:
        with self.db.session() as s:
            return list(s.exec(select(Timer.id).where(
                (col(Timer.status) == FIRING) | ((col(Timer.status) == PENDING) & (Timer.due_at <= self.now()))
            )).all())

    def quiet(self, timeout: float = SETTLE) -> None:
        """Every timer due on the bot's clock has fired, and Slack has everything it was owed."""
        until(lambda: not self.due_timers() and outbox_drained(self.db), timeout=timeout,
              what="the bot's clock and outbox to catch up")

    def fresh_start(self) -> None:
        """Before a row: nothing left running from the last one, and none of its timers pending."""
        self.quiet()
        with self.db.session() as s:
            s.exec(update(Timer).where(col(Timer.status) == PENDING).values(status=CANCELLED))

    def finished(self, key: str | None, timeout: float = SETTLE) -> str | None:
        """The listener of the delivery `key` has returned: how its claim was settled (done, or
        released when it failed); None when it was never claimed (refused before, or no key)."""
        if key is None:
            return None

        def settled() -> list[str | None]:
            with self.db.session() as s:
                claim = s.get(InboundDelivery, key, populate_existing=True)
                status = None if claim is None else claim.status
                return [] if status == STARTED else [status]
        return until(settled, timeout=timeout, what=f"the listener of {key} to finish")[0]

    def events_after(self, mark: int) -> list[Event]:
        return [e for e in self.events_since(mark) if (e.action, e.actor) != (SEALER_ACTION, SYSTEM)]

    # -- rows the test reads back ----------------------------------------------------------

    def newest(self, model: type[SQLModel]) -> str:
        with self.db.session() as s:
            return str(s.exec(select(func.max(model.id))).one())  # type: ignore[attr-defined]

    def checkpoint_size(self) -> str:
        """The size of the log's latest checkpoint (a checkpoint's event names it by its size)."""
        with self.db.session() as s:
            return str(s.exec(select(func.max(AuditCheckpoint.size))).one())

    # -- the playbook file ---------------------------------------------------------------

    def write_playbook(self, text: str) -> str:
        """Write the file the bot reads; its short hash, which names the playbook it holds."""
        self.playbook_copy.write_text(text)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def sighup(self) -> None:
        assert self.bot.proc is not None
        self.bot.proc.send_signal(signal.SIGHUP)

    def reload_to(self, text: str) -> None:
        """Have the bot apply `text` (SIGHUP), and wait until it has."""
        short = self.write_playbook(text + f"# revision {next(_serial)}\n")
        mark = self.audit_mark()
        self.sighup()
        until(lambda: self.events_since(mark, action="playbook.applied", entity_id=short), timeout=SETTLE,
              what=f"the bot to apply playbook {short}")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[Coverage]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("coverage")
    with own_database_url(tmp) as url, migrated_database(url) as db:
        yield from _world(tmp, url, db)


def _world(tmp: Path, url: str, db: Any) -> Iterator[Coverage]:
    clock_file = tmp / "clock-offset"
    clock_file.write_text("0")
    clock = OffsetFileClock(str(clock_file))
    fake = FakeSlack(spec_path=require_shared_file("slack_web_openapi_v2.json"))
    for role, user in PEOPLE.items():
        fake.add_user(user, deleted=role == DEACTIVATED)
    fake.add_missing_channel(GONE_CHANNEL)
    fake.follow_clock(lambda: clock.now().timestamp())
    fake.start()
    playbook_copy = tmp / "playbook.yaml"
    shutil.copy(PLAYBOOK, playbook_copy)
    env = bot_env(database_url=url, slack_api_url=fake.base_url, port=free_port(),
                  PLAYBOOK_PATH=str(playbook_copy), CLOCK_OFFSET_FILE=str(clock_file),
                  API_TOKENS=f"ci={API_TOKEN}", SLACK_API_TIMEOUT="10",
                  # A delivery is given up on quickly, so the row that makes Slack fail it waits little.
                  OUTBOX_MAX_ATTEMPTS="3", OUTBOX_RETRY_CAP="0.2",
                  # The sequencer's checkpoints are no row's doing; one is enough.
                  AUDIT_CHECKPOINT_INTERVAL="3650d")
    bot = BotProcess("serve", env, tmp).start()
    client = SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake, timeout=30)
    try:
        yield Coverage(db, fake, client, bot, playbook_copy, clock_file=clock_file)
    finally:
        client.close()
        bot.stop()
        fake.stop()
    assert fake.violations == [], "\n".join(fake.violations)
    assert "Traceback" not in bot.output(), bot.output()[-4000:]


# --- doing things in Slack: each returns the key of the delivery it sent (None: no claim) ------


def claim_key(trigger: str) -> str:
    return f"trigger:{trigger}"


def command(world: Coverage, user: str, name: str, text: str, *, channel: str = TEAM) -> str:
    trigger = new_trigger_id()
    resp = world.slack.command(name, text, user_id=user, channel_id=channel, trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    return claim_key(trigger)


def click(world: Coverage, user: str, action_id: str, value: str | None, *, channel: str = APPROVALS,
          home: bool = False, state: dict | None = None) -> str:
    trigger = new_trigger_id()
    view = {"id": f"VHOME{user}", "type": "home", "blocks": []} if home else None
    resp = world.slack.block_action(action_id, value, user_id=user, channel_id=channel, trigger_id=trigger,
                                    view=view, state=state)
    assert resp.status_code == 200, resp.text
    return claim_key(trigger)


def opened_form(world: Coverage, key: str, callback_id: str, calls_from: int) -> str:
    """The id of the `callback_id` modal the bot opened for the delivery `key`."""
    trigger = key.removeprefix("trigger:")
    world.fake._poll(lambda: [c for c in world.fake.calls[calls_from:]
                              if c.method == "views.open" and c.args.get("trigger_id") == trigger],
                     1, SETTLE, f"the {callback_id} form")
    return world.fake.last_opened_view_id(callback_id)


def submit(world: Coverage, user: str, view_id: str, answers: dict[str, Any]) -> str:
    """Submit the bot's form `view_id`, answered as given (else as it was shown)."""
    view = world.fake.view(view_id)
    assert view is not None
    trigger = new_trigger_id()
    resp = world.slack.view_submission(view["callback_id"], form_state(view, answers), user_id=user,
                                       view_id=view_id, trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    return claim_key(trigger)


def then_submit(world: Coverage, user: str, open_it: Callable[[], str], callback_id: str,
                answers: dict[str, Any]) -> str:
    """Open a form (a button, a command) and submit it; the submission's delivery key."""
    calls_from = world.call_mark()
    key = open_it()
    view_id = opened_form(world, key, callback_id, calls_from)
    world.finished(key)
    return submit(world, user, view_id, answers)


def event(world: Coverage, payload: dict[str, Any]) -> str:
    event_id = new_event_id()
    resp = world.slack.event(payload, event_id=event_id)
    assert resp.status_code == 200, resp.text
    return f"event:{event_id}"


def api(world: Coverage, path: str, *, token: str | None = API_TOKEN, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(world.bot.url + path, params=params, headers=headers, timeout=30)


# --- seeds: each makes the fresh state its row needs, on the bot's clock ---------------------


def nothing(world: Coverage) -> Target:
    return {}


def signoff(kind: str, *, changes_requested: bool = False, resubmitted: bool = False) -> Callable[[Coverage], Target]:
    """A request of `kind` by the requester, posted and told to its approvers; with
    `resubmitted`, its buttons (`value`) are those of the revision before the current one."""
    def seed(world: Coverage) -> Target:
        n = next(_serial)
        with world.db.session() as s:
            request = approvals.open_request(
                s, playbook=LOADED, kind=kind, audience="internal", title=f"Coverage {kind} {n}",
                reference=f"https://github.com/acme/app/pull/{n}", requester=PEOPLE["requester"],
                now=world.now(), group_members=MEMBERS, ai_tool="Copilot")
            target = {"id": request.id, "reference": request.reference, "kind": kind}
        if changes_requested or resubmitted:
            with world.db.session() as s:
                outcome = approvals.decide(s, request_id=target["id"], revision=1, user=PEOPLE["approver"],
                                           decision="request_changes", now=world.now(), group_members=MEMBERS,
                                           governance_channel=GOVERNANCE, reason="Add the tests").outcome
            assert outcome == "changes_requested"
        with world.db.session() as s:
            target["value"] = action_value(approvals.request_view(s, approvals.get(s, target["id"])))
        if resubmitted:
            with world.db.session() as s:
                assert approvals.resubmit(s, request_id=target["id"], user=PEOPLE["requester"], now=world.now(),
                                          group_members=MEMBERS).outcome == "resubmitted"
        return target
    return seed


def incident(severity: str = "sev2", state: str = "open",
             members: dict[str, list[str]] | None = None) -> Callable[[Coverage], Target]:
    """An incident the requester reported, its first step paged; then acknowledged by the paged
    person, or resolved by the reporter."""
    def seed(world: Coverage) -> Target:
        with world.db.session() as s:
            found = escalation.open_incident(s, playbook=LOADED, severity=severity,
                                             title=f"Coverage incident {next(_serial)}",
                                             reporter=PEOPLE["requester"], now=world.now(),
                                             group_members=members or MEMBERS)
            incident_id = found.id

        def paged() -> bool:
            with world.db.session() as s:
                return s.exec(select(IncidentPage).where(IncidentPage.incident_id == incident_id)).first() is not None

        until(paged, timeout=SETTLE, what=f"incident #{incident_id} paged by the bot's clock")
        with world.db.session() as s:
            if state == "acknowledged":
                assert escalation.acknowledge(s, incident_id=incident_id, user=PEOPLE["paged person"],
                                              now=world.now()).outcome == "acknowledged"
            elif state == "resolved":
                assert escalation.resolve(s, incident_id=incident_id, user=PEOPLE["requester"], now=world.now(),
                                          summary="Patched the prompt").outcome == "resolved"
        return {"id": incident_id, "value": str(incident_id)}
    return seed


def usage_alert(state: str = "open") -> Callable[[Coverage], Target]:
    """A usage alert as the watcher raises it, its message delivered; then acknowledged by the
    admin, or turned into an incident by them."""
    def seed(world: Coverage) -> Target:
        n, now = next(_serial), world.now()
        model = f"coverage-model-{n}"
        candidate = Candidate("undocumented_model", f"openai/{model}", now.astimezone(PB.tz).date().isoformat(),
                              f"{model} (openai) was used, but no approved use case documents it.",
                              {"events": 1, "first_seen": now.isoformat(), "last_seen": now.isoformat(),
                               "services": ["coverage-bot"], "people": [], "models": [model],
                               "providers": ["openai"], "use_cases": []})
        with world.db.session() as s:
            alert = usage_alerts.raise_alert(s, candidate, now=now, playbook=PB)
            assert alert is not None and alert.id is not None
            alert_id = alert.id
        with world.db.session() as s:
            if state == "acknowledged":
                usage_alerts.acknowledge(s, alert_id=alert_id, user=PEOPLE["admin"], now=now, playbook=PB)
            elif state == "incident":
                usage_alerts.open_incident(s, alert_id=alert_id, user=PEOPLE["admin"], now=now,
                                           playbook=LOADED, group_members=MEMBERS)
        world.quiet()
        return {"id": alert_id, "value": str(alert_id)}
    return seed


def _who(user: str) -> registry.Authority:
    return registry.Authority(user, GOVERNORS)


def use_case(*, documented_ago: timedelta = timedelta(0)) -> Callable[[Coverage], Target]:
    """A use case its owner documented `documented_ago`; whatever nudge that makes due has gone."""
    def seed(world: Coverage) -> Target:
        raw = {"title": f"Coverage use case {next(_serial)}", "description": "Drafts support replies",
               "owner": PEOPLE["record owner"], "audience": "internal", "purpose": "Saves time",
               "risk_tier": "limited", "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}
        with world.db.session() as s:
            record = registry.create(s, "usecase", raw, authority=_who(PEOPLE["record owner"]),
                                     now=world.now() - documented_ago, playbook=PB)
            target = {"kind": "usecase", "id": record.id, "tag": stamp(record),
                      "next_review_at": record.next_review_at}
        world.quiet()
        target["value"] = f"usecase:{target['id']}"
        target["nudge"] = f"usecase:{target['id']}:{target['tag']}"
        return target
    return seed


def vendor(*, documented_ago: timedelta = timedelta(0)) -> Callable[[Coverage], Target]:
    """A vendor kept by its assignee (the record owner), reviewed by the vendor reviewer."""
    def seed(world: Coverage) -> Target:
        raw = {"name": f"Coverage vendor {next(_serial)}", "provides": "LLM API", "trains_on_our_data": "no",
               "deployment": "cloud", "injection_tested": "passed", "risk_level": "medium",
               "review_status": "in_review", "assignee": PEOPLE["record owner"],
               "reviewer": PEOPLE["vendor reviewer"]}
        with world.db.session() as s:
            record = registry.create(s, "vendor", raw, authority=_who(PEOPLE["record owner"]),
                                     now=world.now() - documented_ago, playbook=PB)
            target = {"kind": "vendor", "id": record.id, "tag": stamp(record)}
        world.quiet()
        target["value"] = f"vendor:{target['id']}"
        target["nudge"] = f"vendor:{target['id']}:{target['tag']}"
        return target
    return seed


def subscribed(*users: str) -> Callable[[Coverage], Target]:
    """Exactly these people take the personal digest."""
    def seed(world: Coverage) -> Target:
        with world.db.session() as s:
            for row in s.exec(select(DigestSubscriber)).all():
                digest.subscribe(s, user=row.user, on=False, now=world.now())
        with world.db.session() as s:
            for user in users:
                digest.subscribe(s, user=user, on=True, now=world.now())
        return {}
    return seed


def audit_token(world: Coverage) -> Target:
    """A stored API token with the scope `audit` (created as `countersign token create` does)."""
    name = f"coverage-{next(_serial)}"
    with world.db.session() as s:
        return {"name": name, "token": tokens.create(s, name=name, scopes="audit", now=world.now(), actor="operator")}


def ingest_token(world: Coverage) -> Target:
    """A stored API token with the scope `ingest`."""
    name = f"coverage-{next(_serial)}"
    with world.db.session() as s:
        return {"name": name, "token": tokens.create(s, name=name, scopes="ingest", now=world.now(), actor="operator")}


def checkpointed(world: Coverage) -> Target:
    """The log sealed up to now and checkpointed (by the admin, as `/ai-audit checkpoint` does),
    so a proof can be asked for; and a stored token with the scope `audit`."""
    mark = world.audit_mark()
    key = command(world, PEOPLE["admin"], "/ai-audit", "checkpoint")
    world.finished(key)
    until(lambda: world.events_since(mark, action=SEALER_ACTION), timeout=SETTLE, what="the admin's checkpoint")
    return audit_token(world)


_windows = itertools.count(10)


def window(world: Coverage) -> Target:
    """An hour of ai-primary (the paged person's rotation) no earlier row has overridden."""
    start = (world.now() + next(_windows) * timedelta(days=1)).astimezone(PB.tz).replace(
        minute=0, second=0, microsecond=0)
    return {"from": f"{start:%Y-%m-%dT%H:%M}", "to": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}"}


def changed_playbook(world: Coverage) -> Target:
    """A harmless change to the file the bot reads, so a reload applies something."""
    return {"hash": world.write_playbook(BASE + f"# changed for row {next(_serial)}\n")}


def broken_playbook(world: Coverage) -> Target:
    """A file the bot must refuse: the playbook in force stays."""
    return {"hash": world.write_playbook(BASE.replace("version: 1", "version: 7") + f"# {next(_serial)}\n")}


# --- AI usage in ------------------------------------------------------------------------------

AI_EVENT = {"id": "cov-1", "started_at": "2026-03-02T09:00:00Z", "model": "gpt-4o", "service": "cov-bot"}
LITELLM_RECORD = {"id": "chatcmpl-cov", "call_type": "completion", "model": "gpt-4o",
                  "custom_llm_provider": "openai", "startTime": 1772442000.0, "endTime": 1772442001.0}
TRACE_ID, SPAN_ID = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
OTLP_EXPORT = {"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": TRACE_ID, "spanId": SPAN_ID, "name": "chat", "startTimeUnixNano": "1772442000000000000",
    "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}]}]}]}]}


def post_usage(path: str, body: Any, *, token: str | None = "target",
               status: int = 200) -> Callable[[Coverage, Target], None]:
    def perform(world: Coverage, target: Target) -> None:
        bearer = target["token"] if token == "target" else token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = httpx.post(world.bot.url + path, json=body, headers=headers, timeout=30)
        assert response.status_code == status, response.text
    return perform


def batch_of(*keys: str) -> Callable[[Coverage, Target], str]:
    """The batch's id in the log: named by the events it stored (services/usage/store.py)."""
    batch = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return lambda world, target: batch


def ingested(world: Coverage) -> Target:
    """AI_EVENT already ingested, and the token that sent it."""
    target = ingest_token(world)
    post_usage("/api/v1/ai-events", {"events": [AI_EVENT]})(world, target)
    return target

"""Every state change, refusal and failure leaves its audit event, and nothing else does: one row
per thing Countersign listens to or does on its own — each slash command and its words, each
button, form, picker, shortcut and event, each durable timer, the API, the digest, playbook
reloads, the outbox giving up — driven through the real bot process (signed Slack requests over
loopback, the bot's clock moved by hand) and judged on the EXACT audit events it left: action,
actor, entity and payload keys, no more and no fewer. A read-only request must leave none.

What has to have a row is read from the product itself (handlers/catalogue.py's record of what
the surfaces register, blocks/help.py's words of each command, the timer handlers, the published
API paths), so a new action id, word, timer or path without a row fails
test_every_surface_has_a_row until someone says what it writes.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

import escalation
from blocks import approvals as approval_blocks
from blocks import audit as audit_blocks
from blocks import incidents as incident_blocks
from blocks import registry as registry_blocks
from blocks import usage_alerts as usage_alert_blocks
from blocks.help import BY_NAME
from blocks.home import PAGE
from bot.api import openapi_document
from handlers import catalogue, listened_to
from models.approval import ApprovalRequest
from models.inbound import RELEASED
from models.incident import Incident, OncallOverride
from models.outbox import OutboxMessage
from models.registry import DigestRun, UseCase, Vendor
from services import approvals, registry
from services.audit_log import filter_text
from services.audit_log.query import AuditFilter
from services.registry.digest import period_key
from tests.e2e.waiting import until
from tests.harness.faults import Fault
from tests.harness.payloads import new_trigger_id
from tests.reliability.audit_coverage import (  # noqa: F401  (the world fixture)
    AI_EVENT,
    BASE,
    GONE_CHANNEL,
    GOVERNANCE,
    INCIDENTS,
    LITELLM_RECORD,
    MEMBERS,
    OTLP_EXPORT,
    PB,
    SETTLE,
    SPAN_ID,
    SYSTEM,
    TEAM,
    TRACE_ID,
    Coverage,
    Target,
    api,
    audit_token,
    batch_of,
    broken_playbook,
    changed_playbook,
    checkpointed,
    click,
    command,
    event,
    ingest_token,
    ingested,
    incident,
    opened_form,
    post_usage,
    nothing,
    signoff,
    subscribed,
    submit,
    then_submit,
    usage_alert,
    use_case,
    vendor,
    window,
    world,
)
from tests.reliability.authz_world import PEOPLE

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
# Past an incident channel's follow-up timers (escalation/record.py retry_delay: 2 s, then 4 s).
FOLLOW_UP = timedelta(seconds=5)

# --- what a row expects ------------------------------------------------------------------------

Entity = Callable[[Coverage, Target], str]


@dataclass(frozen=True)
class Ev:
    """One audit event: `actor` is a role of authz_world.PEOPLE, an actor as written, or read from
    the row's target like an entity; `values`
    are payload values it must hold too (which rule refused, what Slack answered)."""

    action: str
    actor: str | Entity
    entity_type: str
    entity: Entity
    keys: frozenset[str]
    values: tuple[tuple[str, Any], ...] = ()

    def seen_as(self, world: Coverage, target: Target) -> tuple:
        actor = self.actor(world, target) if callable(self.actor) else PEOPLE.get(self.actor, self.actor)
        return (self.action, actor, self.entity_type, self.entity(world, target),
                tuple(sorted(self.keys)))


def ev(action: str, actor: str | Entity, entity_type: str, entity: Entity, keys: str, **values: Any) -> Ev:
    return Ev(action, actor, entity_type, entity, frozenset(keys.split()), tuple(values.items()))


def the(key: str) -> Entity:
    return lambda world, target: str(target[key])


def newest(model: Any) -> Entity:
    """The row of `model` the row itself created (rows run one at a time)."""
    return lambda world, target: world.newest(model)


def literal(value: str) -> Entity:
    return lambda world, target: value


def person(role: str) -> Entity:
    return lambda world, target: PEOPLE[role]


ID, HASH = the("id"), the("hash")

# Payload keys, by event (and by path where one action is written in more than one way).
REQUESTED = ("revision kind audience title reference ref_key ai_tool channel origin_channel declared_uses "
             "use_case_id use_case_note playbook_hash playbook_version approvers")
VOTED = "revision vote_id decision group reason break_glass confirmations approvals required"
DECIDED = "revision vote_id reason approvals"
DENIED_VOTE = "revision attempted code reason missing_checklist attempted_revision"
DENIED_REQUEST = "revision attempted code reason missing_checklist"
DENIED_OPENING = "attempted code reason kind audience"
OPENED = "run severity title category policy channel_name affected source_permalink playbook_hash"
PAGED = "run round step target user channel"
INCIDENT_DENIED = "run attempted code reason"
RECORD_DENIED = "ref attempted reason"
NUDGED = "stage number user"
APPLIED = "trigger process path previous current version"
REFUSED = "trigger process path kept refused issues"
OUTBOX_FAILED = "key method channel template attempts error"
DENIED_ACCESS = "attempted reason"


def requested(actor: str = "requester") -> Ev:
    return ev("approval.requested", actor, "approval_request", newest(ApprovalRequest), REQUESTED)


def voted(actor: str = "approver") -> Ev:
    return ev("approval.voted", actor, "approval_request", ID, VOTED)


def decided(outcome: str, actor: str = "approver") -> Ev:
    return ev(f"approval.{outcome}", actor, "approval_request", ID, DECIDED)


def vote_denied(actor: str, code: str) -> Ev:
    return ev("approval.denied", actor, "approval_request", ID, DENIED_VOTE, code=code)


def paged(times: int = 2, entity: Entity = ID) -> tuple[Ev, ...]:
    """The pages of a step to the responders (two people), or to one person."""
    return (ev("incident.paged", SYSTEM, "incident", entity, PAGED),) * times


def opened(actor: str = "requester") -> tuple[Ev, ...]:
    """An incident reported, and its first step paged to the responders."""
    return (ev("incident.opened", actor, "incident", newest(Incident), OPENED), *paged(entity=newest(Incident)))


def incident_event(action: str, actor: str, keys: str) -> Ev:
    return ev(action, actor, "incident", ID, f"run {keys}".strip())


def record_event(kind: str, action: str, actor: str, keys: str, entity: Entity = ID) -> Ev:
    return ev(f"{kind}.{action}", actor, kind, entity, keys)


def record_denied(kind: str, actor: str, entity: Entity = ID) -> Ev:
    return ev(f"{kind}.denied", actor, kind, entity, RECORD_DENIED)


def access_denied(role: str = "deactivated user") -> Ev:
    return ev("access.denied", role, "slack_user", person(role), DENIED_ACCESS, reason="deactivated")


def audit_denied(actor: str, entity: Entity, entity_type: str = "slack_user") -> Ev:
    return ev("audit.denied", actor, entity_type, entity, "asked reason")


def incident_denied(actor: str, code: str) -> Ev:
    return ev("incident.denied", actor, "incident", ID, INCIDENT_DENIED, code=code)


# An outbox failure names the message by its row id, which a row cannot know beforehand: the
# table compares it as "a failed message", and checks each such event against its row apart.
FAILED_MESSAGE = "(a failed message)"


def outbox_failed(**values: Any) -> Ev:
    return ev("outbox.failed", SYSTEM, "outbox_message", literal(FAILED_MESSAGE), OUTBOX_FAILED, **values)


NONE: tuple[Ev, ...] = ()

# --- how a row does it -------------------------------------------------------------------------

Perform = Callable[[Coverage, Target], "str | None"]
Text = str | Callable[[Target], str]


def _text(text: Text, target: Target) -> str:
    return text(target) if callable(text) else text


def slash(role: str, name: str, text: Text = "", channel: str = TEAM) -> Perform:
    return lambda world, target: command(world, PEOPLE[role], name, _text(text, target), channel=channel)


def press(role: str, action_id: str, value: Text | None = lambda t: t["value"], *, channel: str | None = None,
          home: bool = False, state: dict | None = None) -> Perform:
    def perform(world: Coverage, target: Target) -> str:
        where = channel or (INCIDENTS if action_id.startswith("incident_") else
                            f"D{PEOPLE[role][1:]}" if action_id.startswith("registry_") else "C0APPROVE")
        return click(world, PEOPLE[role], action_id, None if value is None else _text(value, target),
                     channel=where, home=home, state=state)
    return perform


def form(role: str, opener: Perform, callback_id: str,
         answers: dict | Callable[[Target], dict] | None = None) -> Perform:
    """Open a form (`opener`: the button or command that opens it) and submit it as `answers`."""
    def perform(world: Coverage, target: Target) -> str:
        given = answers(target) if callable(answers) else (answers or {})
        return then_submit(world, PEOPLE[role], lambda: opener(world, target), callback_id, given)
    return perform


def later(by: timedelta | Callable[[Coverage, Target], timedelta]) -> Perform:
    """Move the bot's clock by `by`: the row's own timers come due (no other row's are pending)."""
    def perform(world: Coverage, target: Target) -> None:
        world.advance(by(world, target) if callable(by) else by)
    return perform


def steps(*performs: Perform) -> Perform:
    """One after another, each once the bot has settled what the one before did."""
    def perform(world: Coverage, target: Target) -> str | None:
        key = None
        for one in performs:
            world.finished(key)
            world.quiet()
            key = one(world, target)
        return key
    return perform


def sighup(world: Coverage, target: Target) -> None:
    world.sighup()
    return None


def http(path: str, *, token: str | None = "default", status: int = 200, **params: str) -> Perform:
    def perform(world: Coverage, target: Target) -> None:
        response = api(world, path, **({} if token == "default" else {"token": token}), **params)
        assert response.status_code == status, response.text
    return perform


def failing(method: str, *faults: Fault, then: Perform) -> Perform:
    """Slack answers the next calls to `method` with `faults`, while `then` runs."""
    def perform(world: Coverage, target: Target) -> str | None:
        world.fake.inject(method, *faults)
        return then(world, target)
    return perform


def restore(world: Coverage, target: Target) -> None:
    """After a row that changed the playbook or Slack's answers: both as they were."""
    world.fake.clear_faults()
    world.reload_to(BASE)


# --- answers to the bot's forms ------------------------------------------------------------------


def reason(target: Target) -> dict:
    return {"reason": "Checked the diff"}


def confirmation(target: Target) -> dict:
    return {"restated_reference": target["reference"], "reason": "Read the diff"}


def resubmission(target: Target) -> dict:
    return {"reference": target["reference"] + "/v2", "summary": "Tests added"}


def new_request(**extra: Any) -> dict:
    return {"kind": "code", "audience": "internal", "title": "Coverage form request",
            "reference": "https://github.com/acme/app/pull/9000", "ai_tool": "Copilot", **extra}


NEW_USE_CASE = {"title": "Coverage use case by form", "description": "Summarises tickets",
                "owner": PEOPLE["requester"], "audience": "internal", "purpose": "Saves time",
                "risk_tier": "limited", "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}
NEW_VENDOR = {"name": "Coverage vendor by form", "provides": "Embeddings", "trains_on_our_data": "no",
              "deployment": "cloud", "injection_tested": "passed", "risk_level": "low",
              "review_status": "not_started", "assignee": PEOPLE["requester"]}
TICKED = {"checklist-0": {f"{approval_blocks.CHECKLIST}-0": {
    "type": "checkboxes",
    "selected_options": [{"value": "privacy-review", "text": {"type": "plain_text", "text": "privacy-review"}}]}}}


_pulls = itertools.count(50_000)


def inline_request(kind: str) -> Text:
    return lambda target: f"{kind} https://github.com/acme/app/pull/{next(_pulls)} Coverage inline (Copilot)"


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    covers: tuple[str, ...]  # the surfaces it exercises (see required_surfaces)
    seed: Callable[[Coverage], Target]
    perform: Perform
    events: tuple[Ev, ...]
    cleanup: Callable[[Coverage, Target], None] | None = None


def row(name: str, covers: str | tuple[str, ...], seed: Callable[[Coverage], Target], perform: Perform,
        *events: Ev | tuple[Ev, ...], cleanup: Callable[[Coverage, Target], None] | None = None) -> Row:
    flat: list[Ev] = []
    for one in events:
        flat += one if isinstance(one, tuple) else [one]
    return Row(name, (covers,) if isinstance(covers, str) else covers, seed, perform, tuple(flat), cleanup)


def next_digest(world: Coverage, target: Target) -> timedelta:
    """From now to a minute past the next 09:00 on the playbook's wall clock (the digest's time)."""
    now = world.now()
    local = now.astimezone(PB.tz)
    due = local.replace(hour=9, minute=0, second=0, microsecond=0)
    if due <= local:
        due += DAY
    target["week"] = period_key(due, PB.tz, 7)
    return due - local + MINUTE


def with_digest(world: Coverage) -> Target:
    """A daily digest in the playbook, and one subscriber; the digest job has noted since when
    digests are owed (from its first run with a schedule), so the next one is owed."""
    world.reload_to(BASE + '  digest: {cron: "daily 09:00"}\n')

    def owed_since() -> bool:
        with world.db.session() as s:
            return s.exec(select(DigestRun).where(DigestRun.scope == "since")).first() is not None
    until(owed_since, timeout=SETTLE, what="the digest job to note since when digests are owed")
    return subscribed(PEOPLE["requester"])(world)


def with_ghost_group(world: Coverage) -> Target:
    return {"hash": world.write_playbook(BASE.replace("groups:\n", "groups:\n  ghosts: {usergroup: S0GHOST}\n", 1)
                                         + "# with a user group Slack does not know\n")}


def settled_playbook(world: Coverage) -> Target:
    """The file the bot reads is the one in force, so a reload finds nothing to change."""
    world.reload_to(BASE)
    return {}


def soon_nudge_due(world: Coverage, target: Target) -> timedelta:
    return target["next_review_at"] - PB.documentation.due_soon - world.now() + MINUTE


def digest_events() -> tuple[Ev, ...]:
    return (ev("digest.sent", SYSTEM, "digest", lambda world, target: f"team:{target['week']}", "channel counts"),
            ev("digest.sent", SYSTEM, "digest",
               lambda world, target: f"user:{PEOPLE['requester']}:{target['week']}", "channel counts"))


ROWS: list[Row] = [
    # --- /ai-approve ---------------------------------------------------------------------------
    row("/ai-approve opens the request form", "command:/ai-approve", nothing,
        slash("requester", "/ai-approve"), NONE),
    row("/ai-approve list", "command:/ai-approve list", signoff("code"), slash("approver", "/ai-approve", "list"),
        NONE),
    row("/ai-approve help", "command:/ai-approve help", nothing, slash("requester", "/ai-approve", "help"), NONE),
    row("/ai-approve <kind> requests sign-off", "command:/ai-approve <kind>", nothing,
        slash("requester", "/ai-approve", inline_request("code")), requested()),
    row("/ai-approve <kind> with its title missing", "command:/ai-approve <kind>", nothing,
        slash("requester", "/ai-approve", "code https://github.com/acme/app/pull/1"), NONE),
    row("/ai-approve <kind> that needs a documented use case, without one", "command:/ai-approve <kind>", nothing,
        slash("requester", "/ai-approve", inline_request("documented")),
        ev("approval.denied", "requester", "approval_request", literal("new"), DENIED_OPENING,
           code="use_case_required", kind="documented")),
    row("/ai-approve with a word it does not know", "command:/ai-approve", nothing,
        slash("requester", "/ai-approve", "frobnicate"), NONE),
    row("/ai-approve from a deactivated account", "deactivated:command", nothing,
        slash("deactivated user", "/ai-approve", "list"), access_denied()),
    # --- sign-off buttons ----------------------------------------------------------------------
    row("Approve by an approver completes the sign-off", "action:approval_approve", signoff("code"),
        press("approver", approval_blocks.APPROVE), voted(), decided("approved")),
    row("Approve by someone in no approver group", "action:approval_approve", signoff("code"),
        press("outsider", approval_blocks.APPROVE), vote_denied("outsider", "not_an_approver")),
    row("Approve by the requester, own request", "action:approval_approve", signoff("code"),
        press("requester", approval_blocks.APPROVE), vote_denied("requester", "self_approval")),
    row("Approve of a request already decided", "action:approval_approve", signoff("code", changes_requested=True),
        press("approver", approval_blocks.APPROVE), vote_denied("approver", "not_pending")),
    row("Approve of a revision resubmitted since", "action:approval_approve", signoff("code", resubmitted=True),
        press("approver", approval_blocks.APPROVE), vote_denied("approver", "stale_revision")),
    row("Approve with the checklist ticked", ("action:approval_approve",), signoff("launch"),
        press("approver", approval_blocks.APPROVE, state=TICKED), voted(), decided("approved")),
    row("Approve with the checklist unticked", "action:approval_approve", signoff("launch"),
        press("approver", approval_blocks.APPROVE), vote_denied("approver", "checklist_incomplete")),
    row("Approve on App Home", "action:approval_approve", signoff("code"),
        press("approver", approval_blocks.APPROVE, home=True), voted(), decided("approved")),
    row("Approve from a deactivated account", "deactivated:action", signoff("code"),
        press("deactivated user", approval_blocks.APPROVE), access_denied()),
    row("Approve on a high-assurance request opens its form", "action:approval_approve", signoff("model"),
        press("approver", approval_blocks.APPROVE), NONE),
    row("Ticking a checklist box", "action:approval_checklist", signoff("launch"),
        press("approver", f"{approval_blocks.CHECKLIST}-0", None), NONE),
    row("Reject opens the reason form", "action:approval_reject", signoff("code"),
        press("outsider", approval_blocks.REJECT), NONE),
    row("Request changes opens the reason form", "action:approval_changes", signoff("code"),
        press("approver", approval_blocks.CHANGES), NONE),
    row("Cancel by the requester", "action:approval_cancel", signoff("code"),
        press("requester", approval_blocks.CANCEL),
        ev("approval.cancelled", "requester", "approval_request", ID, "revision previous_status reason by_admin")),
    row("Cancel by an admin", "action:approval_cancel", signoff("code"), press("admin", approval_blocks.CANCEL),
        ev("approval.cancelled", "admin", "approval_request", ID, "revision previous_status reason by_admin")),
    row("Cancel by an approver", "action:approval_cancel", signoff("code"), press("approver", approval_blocks.CANCEL),
        ev("approval.denied", "approver", "approval_request", ID, DENIED_REQUEST, code="not_requester")),
    row("Resubmit by the requester opens its form", "action:approval_resubmit",
        signoff("code", changes_requested=True), press("requester", approval_blocks.RESUBMIT), NONE),
    row("Resubmit by anyone else", "action:approval_resubmit", signoff("code", changes_requested=True),
        press("approver", approval_blocks.RESUBMIT),
        ev("approval.denied", "approver", "approval_request", ID, DENIED_REQUEST, code="not_requester")),
    # --- sign-off forms ------------------------------------------------------------------------
    row("The request form", "view:approval_new", nothing,
        form("requester", slash("requester", "/ai-approve"), "approval_new", new_request()), requested()),
    row("The request form declaring an off-limits use", "view:approval_new", nothing,
        form("requester", slash("requester", "/ai-approve"), "approval_new", new_request(uses=["covert-profiling"])),
        ev("approval.denied", "requester", "approval_request", literal("new"), DENIED_OPENING,
           code="off_limits", kind="code")),
    row("The request form with its title missing", "view:approval_new", nothing,
        form("requester", slash("requester", "/ai-approve"), "approval_new", new_request(title="")), NONE),
    row("Reject, with a reason", "view:approval_reason", signoff("code"),
        form("approver", press("approver", approval_blocks.REJECT), "approval_reason", reason),
        voted(), decided("rejected")),
    row("Reject by someone in no approver group, with a reason", "view:approval_reason", signoff("code"),
        form("outsider", press("outsider", approval_blocks.REJECT), "approval_reason", reason),
        vote_denied("outsider", "not_an_approver")),
    row("Reject of one's own request, with a reason", "view:approval_reason", signoff("code"),
        form("requester", press("requester", approval_blocks.REJECT), "approval_reason", reason),
        vote_denied("requester", "own_request")),
    row("Request changes, with a reason", "view:approval_reason", signoff("code"),
        form("approver", press("approver", approval_blocks.CHANGES), "approval_reason", reason),
        voted(), decided("changes_requested")),
    row("Request changes without a reason", "view:approval_reason", signoff("code"),
        form("approver", press("approver", approval_blocks.CHANGES), "approval_reason", {"reason": ""}), NONE),
    row("A reason form whose metadata was tampered with", "view:approval_reason", signoff("code"),
        lambda world, target: submit_tampered(world, target), NONE),
    row("High-assurance approval, confirmed", "view:approval_confirm", signoff("model"),
        form("approver", press("approver", approval_blocks.APPROVE), "approval_confirm", confirmation),
        voted(), decided("approved")),
    row("High-assurance approval naming the wrong reference", "view:approval_confirm", signoff("model"),
        form("approver", press("approver", approval_blocks.APPROVE), "approval_confirm",
             lambda t: {"restated_reference": "https://example.com/other", "reason": "Read it"}), NONE),
    row("Break-glass approval by the requester", ("action:approval_approve", "view:approval_break_glass"),
        signoff("hotfix"),
        form("requester", press("requester", approval_blocks.APPROVE), "approval_break_glass", reason),
        voted("requester"), ev("approval.break_glass", "requester", "approval_request", ID,
                               "revision vote_id reason notified"),
        decided("approved", "requester")),
    row("Resubmission", "view:approval_resubmit_form", signoff("code", changes_requested=True),
        form("requester", press("requester", approval_blocks.RESUBMIT), "approval_resubmit_form", resubmission),
        ev("approval.resubmitted", "requester", "approval_request", ID,
           "revision previous_revision previous_status dismissed reference ref_key note")),
    row("A form submitted from a deactivated account", "deactivated:view", signoff("code"),
        lambda world, target: submit_as_gone(world, target), access_denied()),
    # --- /ai-incident and its buttons and forms ------------------------------------------------
    row("/ai-incident opens the report form", "command:/ai-incident", nothing,
        slash("requester", "/ai-incident"), NONE),
    row("/ai-incident help", "command:/ai-incident help", nothing, slash("requester", "/ai-incident", "help"), NONE),
    row("/ai-incident <severity> reports, and the first step pages", "command:/ai-incident <severity>", nothing,
        slash("outsider", "/ai-incident", "sev2 Coverage report"), opened("outsider")),
    row("/ai-incident <severity> with nothing after it", "command:/ai-incident <severity>", nothing,
        slash("outsider", "/ai-incident", "sev2"), NONE),
    row("/ai-incident timeline", "command:/ai-incident timeline", incident(),
        slash("outsider", "/ai-incident", lambda t: f"timeline {t['id']}"), NONE),
    row("The report form", "view:incident_new", nothing,
        form("outsider", slash("outsider", "/ai-incident"), "incident_new",
             {"severity": "sev2", "title": "Coverage form report"}), opened("outsider")),
    row("Report as AI incident on a message opens the form", "shortcut:report_ai_incident", nothing,
        lambda world, target: shortcut(world, "outsider"), NONE),
    row("Report as AI incident from a deactivated account", "deactivated:shortcut", nothing,
        lambda world, target: shortcut(world, "deactivated user"), access_denied()),
    row("Acknowledge by the paged person", "action:incident_ack", incident(),
        press("paged person", incident_blocks.ACK),
        incident_event("incident.acknowledged", "paged person", "as_admin via_channel")),
    row("Acknowledge by someone never paged", "action:incident_ack", incident(),
        press("outsider", incident_blocks.ACK), incident_denied("outsider", "not_paged")),
    row("Acknowledge of an incident acknowledged already", "action:incident_ack", incident(state="acknowledged"),
        press("admin", incident_blocks.ACK), NONE),
    row("Un-acknowledge by the reporter restarts the chain", "action:incident_unack", incident(state="acknowledged"),
        press("requester", incident_blocks.UNACK),
        incident_event("incident.unacknowledged", "requester", "previous"), paged()),
    row("Un-acknowledge by someone never paged", "action:incident_unack", incident(state="acknowledged"),
        press("outsider", incident_blocks.UNACK), incident_denied("outsider", "not_responder")),
    row("Reopen by the reporter restarts the chain", "action:incident_reopen", incident(state="resolved"),
        press("requester", incident_blocks.REOPEN),
        incident_event("incident.reopened", "requester", "reason previous_resolved_by previous_summary"), paged()),
    row("Reopen by someone never paged", "action:incident_reopen", incident(state="resolved"),
        press("outsider", incident_blocks.REOPEN), incident_denied("outsider", "not_responder")),
    row("Snooze the update reminders", "action:incident_snooze", incident(),
        press("paged person", incident_blocks.SNOOZE, lambda t: f"{t['id']}:30"),
        incident_event("incident.updates_snoozed", "paged person", "minutes until")),
    row("Snooze the update reminders, by someone never paged", "action:incident_snooze", incident(),
        press("outsider", incident_blocks.SNOOZE, lambda t: f"{t['id']}:30"),
        incident_denied("outsider", "not_responder")),
    row("Snooze the update reminders of a severity that has none", "action:incident_snooze", incident("sev3"),
        press("paged person", incident_blocks.SNOOZE, lambda t: f"{t['id']}:30"),
        incident_denied("paged person", "no_reminders")),
    row("Resolve opens its form", "action:incident_resolve", incident(), press("outsider", incident_blocks.RESOLVE),
        NONE),
    row("Post update opens its form", "action:incident_update", incident(), press("outsider", incident_blocks.UPDATE),
        NONE),
    row("Timeline", "action:incident_timeline", incident(), press("outsider", incident_blocks.TIMELINE), NONE),
    row("Acknowledge a usage alert", "action:usage_alert_acknowledge", usage_alert(),
        press("outsider", usage_alert_blocks.ACKNOWLEDGE, channel=GOVERNANCE),
        ev("usage.alert_acknowledged", "outsider", "usage_alert", ID, "rule key day")),
    row("Acknowledge a usage alert acknowledged already", "action:usage_alert_acknowledge",
        usage_alert("acknowledged"), press("outsider", usage_alert_blocks.ACKNOWLEDGE, channel=GOVERNANCE),
        ev("usage.alert_already_decided", "outsider", "usage_alert", ID, "attempted status decided_by")),
    row("Open incident from a usage alert", "action:usage_alert_open_incident", usage_alert(),
        press("outsider", usage_alert_blocks.OPEN_INCIDENT, channel=GOVERNANCE),
        ev("usage.alert_incident_opened", "outsider", "usage_alert", ID, "rule key day incident_id severity"),
        opened("outsider")),
    row("Open incident from a usage alert that is one already", "action:usage_alert_open_incident",
        usage_alert("incident"), press("outsider", usage_alert_blocks.OPEN_INCIDENT, channel=GOVERNANCE),
        ev("usage.alert_already_decided", "outsider", "usage_alert", ID, "attempted status decided_by")),
    row("Resolve, with a summary", "view:incident_resolve_form", incident(),
        form("paged person", press("paged person", incident_blocks.RESOLVE), incident_blocks.RESOLVE_FORM,
             {"summary": "Rolled the prompt back"}),
        incident_event("incident.resolved", "paged person", "previous_status summary postmortem_url revisit_usecase")),
    row("Resolve by someone never paged", "view:incident_resolve_form", incident(),
        form("outsider", press("outsider", incident_blocks.RESOLVE), incident_blocks.RESOLVE_FORM,
             {"summary": "Rolled the prompt back"}),
        incident_denied("outsider", "not_responder")),
    row("Post an update", "view:incident_update_form", incident(),
        form("outsider", press("outsider", incident_blocks.UPDATE), incident_blocks.UPDATE_FORM,
             {"text": "Still looking"}),
        incident_event("incident.update_posted", "outsider", "text")),
    row("Post an update on a resolved incident", "view:incident_update_form", incident(state="resolved"),
        form("outsider", press("outsider", incident_blocks.UPDATE), incident_blocks.UPDATE_FORM,
             {"text": "Still looking"}),
        incident_denied("outsider", "resolved")),
    # --- /ai-oncall ----------------------------------------------------------------------------
    row("/ai-oncall", "command:/ai-oncall", nothing, slash("outsider", "/ai-oncall"), NONE),
    row("/ai-oncall @user", "command:/ai-oncall @", nothing,
        slash("outsider", "/ai-oncall", f"<@{PEOPLE['paged person']}>"), NONE),
    row("/ai-oncall help", "command:/ai-oncall help", nothing, slash("outsider", "/ai-oncall", "help"), NONE),
    row("/ai-oncall override by the member covered", "command:/ai-oncall override", window,
        slash("paged person", "/ai-oncall",
              lambda t: f"override <@{PEOPLE['approver']}> ai-primary {t['from']} {t['to']}"),
        ev("oncall.override_added", "paged person", "oncall_override", newest(OncallOverride),
           "rotation user start end covered by_admin")),
    row("/ai-oncall override by someone not on call", "command:/ai-oncall override", window,
        slash("requester", "/ai-oncall",
              lambda t: f"override <@{PEOPLE['approver']}> ai-primary {t['from']} {t['to']}"),
        ev("oncall.override_denied", "requester", "oncall_override", literal("ai-primary"),
           "rotation user start end covered reason")),
    row("/ai-oncall override with a time that is not one", "command:/ai-oncall override", nothing,
        slash("paged person", "/ai-oncall", f"override <@{PEOPLE['approver']}> ai-primary soon later"), NONE),
    # --- /ai-usecase, /ai-vendor: commands -----------------------------------------------------
    row("/ai-usecase lists", "command:/ai-usecase", use_case(), slash("outsider", "/ai-usecase"), NONE),
    row("/ai-usecase list", "command:/ai-usecase list", use_case(), slash("outsider", "/ai-usecase", "list due"),
        NONE),
    row("/ai-usecase show", "command:/ai-usecase show", use_case(),
        slash("outsider", "/ai-usecase", lambda t: f"show {t['id']}"), NONE),
    row("/ai-usecase help", "command:/ai-usecase help", nothing, slash("outsider", "/ai-usecase", "help"), NONE),
    row("/ai-usecase new opens the form", "command:/ai-usecase new", nothing,
        slash("outsider", "/ai-usecase", "new"), NONE),
    row("/ai-usecase edit by the owner opens the form", "command:/ai-usecase edit", use_case(),
        slash("record owner", "/ai-usecase", lambda t: f"edit {t['id']}"), NONE),
    row("/ai-usecase edit by someone who does not keep it", "command:/ai-usecase edit", use_case(),
        slash("outsider", "/ai-usecase", lambda t: f"edit {t['id']}"), record_denied("usecase", "outsider")),
    row("/ai-usecase reviewed by the owner", "command:/ai-usecase reviewed", use_case(),
        slash("record owner", "/ai-usecase", lambda t: f"reviewed {t['id']}"),
        record_event("usecase", "reviewed", "record owner", "ref next_review_at")),
    row("/ai-usecase reviewed by someone else", "command:/ai-usecase reviewed", use_case(),
        slash("outsider", "/ai-usecase", lambda t: f"reviewed {t['id']}"), record_denied("usecase", "outsider")),
    row("/ai-usecase retire by the owner", "command:/ai-usecase retire", use_case(),
        slash("record owner", "/ai-usecase", lambda t: f"retire {t['id']}"),
        record_event("usecase", "retired", "record owner", "ref")),
    row("/ai-usecase retire by someone else", "command:/ai-usecase retire", use_case(),
        slash("outsider", "/ai-usecase", lambda t: f"retire {t['id']}"), record_denied("usecase", "outsider")),
    row("/ai-usecase retire of a record that does not exist", "command:/ai-usecase retire", nothing,
        slash("record owner", "/ai-usecase", "retire 999999"), NONE),
    row("/ai-usecase digest on", "command:/ai-usecase digest", subscribed(),
        slash("outsider", "/ai-usecase", "digest on"),
        ev("digest.subscribed", "outsider", "digest", lambda w, t: f"user:{PEOPLE['outsider']}", "")),
    row("/ai-usecase digest on, when it is on already", "command:/ai-usecase digest", subscribed(PEOPLE["outsider"]),
        slash("outsider", "/ai-usecase", "digest on"), NONE),
    row("/ai-usecase digest off", "command:/ai-usecase digest", subscribed(PEOPLE["outsider"]),
        slash("outsider", "/ai-usecase", "digest off"),
        ev("digest.unsubscribed", "outsider", "digest", lambda w, t: f"user:{PEOPLE['outsider']}", "")),
    row("/ai-vendor lists", "command:/ai-vendor", vendor(), slash("outsider", "/ai-vendor"), NONE),
    row("/ai-vendor list", "command:/ai-vendor list", vendor(), slash("outsider", "/ai-vendor", "list in_review"),
        NONE),
    row("/ai-vendor show", "command:/ai-vendor show", vendor(),
        slash("outsider", "/ai-vendor", lambda t: f"show {t['id']}"), NONE),
    row("/ai-vendor help", "command:/ai-vendor help", nothing, slash("outsider", "/ai-vendor", "help"), NONE),
    row("/ai-vendor new opens the form", "command:/ai-vendor new", nothing, slash("outsider", "/ai-vendor", "new"),
        NONE),
    row("/ai-vendor edit by someone who does not keep it", "command:/ai-vendor edit", vendor(),
        slash("outsider", "/ai-vendor", lambda t: f"edit {t['id']}"), record_denied("vendor", "outsider")),
    row("/ai-vendor reviewed by the reviewer opens the review form", "command:/ai-vendor reviewed", vendor(),
        slash("vendor reviewer", "/ai-vendor", lambda t: f"reviewed {t['id']}"), NONE),
    row("/ai-vendor reviewed by its assignee", "command:/ai-vendor reviewed", vendor(),
        slash("record owner", "/ai-vendor", lambda t: f"reviewed {t['id']}"), record_denied("vendor", "record owner")),
    # --- registry forms ------------------------------------------------------------------------
    row("The new use case form", "view:usecase_new", nothing,
        form("requester", slash("requester", "/ai-usecase", "new"), "usecase_new", NEW_USE_CASE),
        record_event("usecase", "created", "requester",
                     "ref title description owner contributors audience purpose risk_tier models intended_uses "
                     "out_of_scope_uses status vendors next_review_at",
                     newest(UseCase))),
    row("The use case edit form", "view:usecase_edit", use_case(),
        form("record owner", slash("record owner", "/ai-usecase", lambda t: f"edit {t['id']}"), "usecase_edit",
             {"description": "Drafts replies; agents edit"}),
        record_event("usecase", "edited", "record owner", "ref fields")),
    row("The use case edit form approving it, by its owner", "view:usecase_edit", use_case(),
        form("record owner", slash("record owner", "/ai-usecase", lambda t: f"edit {t['id']}"), "usecase_edit",
             {"status": "approved"}),
        record_denied("usecase", "record owner")),
    row("The new vendor form", "view:vendor_new", nothing,
        form("requester", slash("requester", "/ai-vendor", "new"), "vendor_new", NEW_VENDOR),
        record_event("vendor", "created", "requester",
                     "ref name website provides contact trains_on_our_data retention data_ownership data_sensitivity "
                     "deployment certifications injection_tested injection_result risk_level contingency "
                     "review_status review_result assignee reviewer use_cases next_review_at", newest(Vendor))),
    row("The new vendor form signing off its own review", "view:vendor_new", nothing,
        form("requester", slash("requester", "/ai-vendor", "new"), "vendor_new",
             {**NEW_VENDOR, "review_status": "reviewed"}),
        record_denied("vendor", "requester", literal("new"))),
    row("The vendor edit form", "view:vendor_edit", vendor(),
        form("record owner", slash("record owner", "/ai-vendor", lambda t: f"edit {t['id']}"), "vendor_edit",
             {"contact": "vendor@example.com"}),
        record_event("vendor", "edited", "record owner", "ref fields")),
    row("The vendor edit form, its assignee signing the review off", "view:vendor_edit", vendor(),
        form("record owner", slash("record owner", "/ai-vendor", lambda t: f"edit {t['id']}"), "vendor_edit",
             {"review_status": "reviewed"}),
        record_denied("vendor", "record owner")),
    row("The vendor review form", "view:vendor_review", vendor(),
        form("vendor reviewer", slash("vendor reviewer", "/ai-vendor", lambda t: f"reviewed {t['id']}"),
             "vendor_review", {"review_status": "reviewed"}),
        record_event("vendor", "reviewed", "vendor reviewer", "ref next_review_at review_status")),
    row("Searching vendors in a form", "options:search_vendor", vendor(),
        lambda world, target: search(world, "/ai-usecase", "usecase_new", "vendors", "search_vendor"), NONE),
    row("Searching use cases in a form", "options:search_usecase", use_case(),
        lambda world, target: search(world, "/ai-vendor", "vendor_new", "use_cases", "search_usecase"), NONE),
    # --- registry buttons ----------------------------------------------------------------------
    row("Still accurate on a use case's nudge", "action:registry_still_accurate", use_case(),
        press("record owner", registry_blocks.STILL_ACCURATE, lambda t: t["nudge"]),
        record_event("usecase", "reviewed", "record owner", "ref next_review_at")),
    row("Still accurate on a use case's nudge, by someone else", "action:registry_still_accurate", use_case(),
        press("outsider", registry_blocks.STILL_ACCURATE, lambda t: t["nudge"]), record_denied("usecase", "outsider")),
    row("Still accurate on a vendor's nudge opens the review form", "action:registry_still_accurate", vendor(),
        press("vendor reviewer", registry_blocks.STILL_ACCURATE, lambda t: t["nudge"]), NONE),
    row("Update on a nudge opens the edit form", "action:registry_update", use_case(),
        press("record owner", registry_blocks.UPDATE, lambda t: t["nudge"]), NONE),
    row("Snooze on a due nudge", "action:registry_snooze", use_case(documented_ago=100 * DAY),
        press("record owner", registry_blocks.SNOOZE, lambda t: t["nudge"]),
        record_event("usecase", "review_snoozed", "record owner", "until snoozes")),
    row("Snooze on a due nudge, by someone else", "action:registry_snooze", use_case(documented_ago=100 * DAY),
        press("outsider", registry_blocks.SNOOZE, lambda t: t["nudge"]), record_denied("usecase", "outsider")),
    row("Edit on a record opens the form", "action:registry_edit", use_case(),
        press("record owner", registry_blocks.EDIT), NONE),
    row("Edit on a record, by someone who does not keep it", "action:registry_edit", use_case(),
        press("outsider", registry_blocks.EDIT), record_denied("usecase", "outsider")),
    row("Reviewed on App Home", "action:registry_reviewed", use_case(),
        press("record owner", registry_blocks.REVIEWED, home=True),
        record_event("usecase", "reviewed", "record owner", "ref next_review_at")),
    # --- App Home --------------------------------------------------------------------------------
    row("App Home opened", "event:app_home_opened", signoff("code"),
        lambda world, target: event(world, {"type": "app_home_opened", "user": PEOPLE["approver"], "tab": "home",
                                            "channel": "D0HOME"}), NONE),
    row("App Home's pager", "action:home_page", use_case(),
        press("record owner", f"{PAGE}_next_records", "records:5", home=True), NONE),
    # --- /ai-playbook and reloads ----------------------------------------------------------------
    row("/ai-playbook", "command:/ai-playbook", nothing, slash("outsider", "/ai-playbook"), NONE),
    row("/ai-playbook explain", "command:/ai-playbook explain", nothing,
        slash("outsider", "/ai-playbook", "explain code"), NONE),
    row("/ai-playbook help", "command:/ai-playbook help", nothing, slash("outsider", "/ai-playbook", "help"), NONE),
    row("/ai-playbook reload by an admin applies a change", "command:/ai-playbook reload", changed_playbook,
        slash("admin", "/ai-playbook", "reload"), ev("playbook.applied", "admin", "playbook", HASH, APPLIED)),
    row("/ai-playbook reload by an admin, nothing changed", "command:/ai-playbook reload", settled_playbook,
        slash("admin", "/ai-playbook", "reload"), NONE),
    row("/ai-playbook reload by an admin of a broken file", "command:/ai-playbook reload", broken_playbook,
        slash("admin", "/ai-playbook", "reload"), ev("playbook.refused", "admin", "playbook", HASH, REFUSED),
        cleanup=restore),
    row("/ai-playbook reload by anyone else", "command:/ai-playbook reload", changed_playbook,
        slash("approver", "/ai-playbook", "reload"),
        ev("playbook.denied", "approver", "playbook", literal("-"), "attempted"), cleanup=restore),
    row("SIGHUP applies a change", "job:playbook reload", changed_playbook, sighup,
        ev("playbook.applied", "system", "playbook", HASH, APPLIED)),
    row("SIGHUP with a broken file", "job:playbook reload", broken_playbook, sighup,
        ev("playbook.refused", "system", "playbook", HASH, REFUSED), cleanup=restore),
    row("A reload naming a user group Slack does not know", "job:playbook reload", with_ghost_group, sighup,
        ev("playbook.applied", "system", "playbook", HASH, APPLIED),
        ev("playbook.group_unresolved", SYSTEM, "playbook", HASH, "group error"), cleanup=restore),
    # --- timers --------------------------------------------------------------------------------
    row("A sign-off's reminder", "timer:approval.remind", signoff("reminding"), later(HOUR + MINUTE),
        ev("approval.reminded", SYSTEM, "approval_request", ID, "revision number users")),
    row("A sign-off's expiry", "timer:approval.expire", signoff("expiring"), later(2 * HOUR + MINUTE),
        ev("approval.expired", SYSTEM, "approval_request", ID, "revision previous_status expires_at")),
    row("An escalation's next step", "timer:incident.step", incident("sev3"), later(10 * MINUTE + MINUTE),
        paged(times=1)),
    row("An escalation that runs out", "timer:incident.step", incident("sev4"), later(10 * MINUTE + MINUTE),
        incident_event("incident.exhausted", SYSTEM, "rounds steps admins")),
    row("An escalation step with nobody to page", "timer:incident.step",
        incident("sev5", members={**MEMBERS, "legal": []}), later(10 * MINUTE + MINUTE),
        incident_event("incident.step_skipped", SYSTEM, "round step target reason"),
        incident_event("incident.exhausted", SYSTEM, "rounds steps admins")),
    row("An incident's update reminder", "timer:incident.update_reminder", incident("sev2"),
        later(30 * MINUTE + MINUTE), incident_event("incident.update_reminded", SYSTEM, "since")),
    row("An incident's own channel, created and its summary pinned",
        ("timer:incident.channel_ready", "timer:incident.pin_summary"), nothing,
        steps(slash("outsider", "/ai-incident", "sev1 Coverage channel"), later(FOLLOW_UP),
              later(FOLLOW_UP)),
        opened("outsider"),
        ev("incident.channel_created", SYSTEM, "incident", newest(Incident), "run channel name invited")),
    row("An incident's own channel Slack refuses to create",
        ("timer:incident.channel_ready", "job:outbox dispatcher"), nothing,
        failing("conversations.create", Fault.answer({"ok": False, "error": "restricted_action"}),
                then=steps(slash("outsider", "/ai-incident", "sev1 Coverage refused channel"),
                           later(FOLLOW_UP))),
        opened("outsider"), outbox_failed(method="conversations.create", error="restricted_action", attempts=1),
        ev("incident.channel_failed", SYSTEM, "incident", newest(Incident), "run name reason")),
    row("A use case's due-soon nudge", "timer:revisit.soon", use_case(), later(soon_nudge_due),
        record_event("usecase", "review_nudged", SYSTEM, NUDGED)),
    row("A use case's due nudge", "timer:revisit.due", use_case(documented_ago=90 * DAY - HOUR),
        later(HOUR + MINUTE), record_event("usecase", "review_nudged", SYSTEM, NUDGED)),
    row("A use case overdue past the grace, raised to governance", "timer:revisit.raise",
        use_case(documented_ago=104 * DAY - HOUR), later(HOUR + MINUTE),
        record_event("usecase", "review_raised", SYSTEM, "channel days_overdue")),
    # --- the weekly digest, the outbox -----------------------------------------------------------
    row("The digest, and a personal one", "job:digest", with_digest, later(next_digest), digest_events(),
        cleanup=restore),
    row("A message to a channel Slack does not have", "job:outbox dispatcher", nothing,
        slash("requester", "/ai-approve", inline_request("archived")),
        requested(), outbox_failed(method="chat.postMessage", channel=GONE_CHANNEL, error="channel_not_found"),
        outbox_failed(method="chat.postMessage", channel=GONE_CHANNEL)),
    row("A message Slack fails on every attempt", "job:outbox dispatcher", changed_playbook,
        failing("chat.postMessage", *[Fault.server_error(503)] * 3, then=slash("admin", "/ai-playbook", "reload")),
        ev("playbook.applied", "admin", "playbook", HASH, APPLIED),
        outbox_failed(method="chat.postMessage", channel="C0GOV", template="playbook_applied", attempts=3,
                      error="gave up after 3 attempts: HTTP 503"), cleanup=restore),
    # --- the audit log itself ----------------------------------------------------------------------
    row("/ai-audit by an admin", "command:/ai-audit", nothing, slash("admin", "/ai-audit"), NONE),
    row("/ai-audit by anyone else", "command:/ai-audit", nothing, slash("outsider", "/ai-audit"),
        audit_denied("outsider", person("outsider"))),
    row("/ai-audit recent", "command:/ai-audit recent", nothing, slash("admin", "/ai-audit", "recent"), NONE),
    row("/ai-audit with filters", "command:/ai-audit <filter>", nothing,
        slash("admin", "/ai-audit", "action:approval.* since:7d"), NONE),
    row("/ai-audit help", "command:/ai-audit help", nothing, slash("outsider", "/ai-audit", "help"), NONE),
    row("/ai-audit request, by its requester", "command:/ai-audit request", signoff("code"),
        slash("requester", "/ai-audit", lambda t: f"request {t['id']}"), NONE),
    row("/ai-audit request, by someone with no part in it", "command:/ai-audit request", signoff("copy"),
        slash("outsider", "/ai-audit", lambda t: f"request {t['id']}"), audit_denied("outsider", ID, "approval_request")),
    row("/ai-audit incident, by its reporter", "command:/ai-audit incident", incident(),
        slash("requester", "/ai-audit", lambda t: f"incident {t['id']}"), NONE),
    row("/ai-audit incident, by someone with no part in it", "command:/ai-audit incident", incident(),
        slash("outsider", "/ai-audit", lambda t: f"incident {t['id']}"), audit_denied("outsider", ID, "incident")),
    row("/ai-audit usecase, by its owner", "command:/ai-audit usecase", use_case(),
        slash("record owner", "/ai-audit", lambda t: f"usecase {t['id']}"), NONE),
    row("/ai-audit vendor, by its reviewer", "command:/ai-audit vendor", vendor(),
        slash("vendor reviewer", "/ai-audit", lambda t: f"vendor {t['id']}"), NONE),
    row("/ai-audit vendor, by someone with no part in it", "command:/ai-audit vendor", vendor(),
        slash("outsider", "/ai-audit", lambda t: f"vendor {t['id']}"), audit_denied("outsider", ID, "vendor")),
    row("/ai-audit usage by an admin", "command:/ai-audit usage", nothing,
        slash("admin", "/ai-audit", "usage since:30d model:gpt-4o"), NONE),
    row("/ai-audit usage by anyone else", "command:/ai-audit usage", nothing,
        slash("outsider", "/ai-audit", "usage"), audit_denied("outsider", person("outsider"))),
    row("/ai-audit verify by an admin", "command:/ai-audit verify", nothing, slash("admin", "/ai-audit", "verify"),
        NONE),
    row("/ai-audit verify by anyone else", "command:/ai-audit verify", nothing,
        slash("approver", "/ai-audit", "verify"), audit_denied("approver", person("approver"))),
    row("/ai-audit checkpoint by an admin", "command:/ai-audit checkpoint", signoff("code"),
        slash("admin", "/ai-audit", "checkpoint"),
        ev("audit.checkpoint", "admin", "audit", lambda world, target: world.checkpoint_size(),
           "size root_hash root_base64 signed")),
    row("/ai-audit checkpoint by anyone else", "command:/ai-audit checkpoint", nothing,
        slash("approver", "/ai-audit", "checkpoint"), audit_denied("approver", person("approver"))),
    row("Next on a page of the log, by an admin", "action:audit_page_older", nothing,
        press("admin", audit_blocks.NEXT, audit_blocks.page_value(1, ""), channel=TEAM), NONE),
    row("Previous on a page of the log, by an admin", "action:audit_page_newer", nothing,
        press("admin", audit_blocks.PREVIOUS, audit_blocks.page_value(0, ""), channel=TEAM), NONE),
    row("Next on a page of the whole log, by anyone else", "action:audit_page_older", nothing,
        press("outsider", audit_blocks.NEXT, audit_blocks.page_value(1, ""), channel=TEAM),
        audit_denied("outsider", person("outsider"))),
    row("Next on a request's history, by its requester", "action:audit_page_older", signoff("code"),
        press("requester", audit_blocks.NEXT, lambda t: audit_blocks.page_value(1, filter_text.render(
            AuditFilter(entity_type="approval_request", entity_id=str(t["id"])))), channel=TEAM), NONE),
    row("The audit events over the API", "api:/api/v1/audit/events", audit_token,
        lambda world, target: http("/api/v1/audit/events", token=target["token"])(world, target), NONE),
    row("The latest checkpoint over the API", "api:/api/v1/audit/checkpoint", checkpointed,
        lambda world, target: http("/api/v1/audit/checkpoint", token=target["token"])(world, target), NONE),
    row("An event's proof over the API", "api:/api/v1/audit/proof", checkpointed,
        lambda world, target: http("/api/v1/audit/proof", token=target["token"], seq="0")(world, target), NONE),
    row("The audit events asked with a token without the scope", "api:/api/v1/audit/events", nothing,
        http("/api/v1/audit/events", status=403),
        ev("token.denied", "ci", "token", literal("ci"), "source scope path", source="API_TOKENS", scope="audit")),
    row("The gate asked with a token without the scope", "api:/api/v1/gate", audit_token,
        lambda world, target: http("/api/v1/gate", token=target["token"], status=403, ref="x")(world, target),
        ev("token.denied", the("name"), "token", the("name"), "source scope path", source="token", scope="gate")),
    row("The audit events asked with a token nobody issued", "api:/api/v1/audit/events", nothing,
        http("/api/v1/audit/events", token="cs_" + "x" * 43, status=401), NONE),
    # --- HTTP ------------------------------------------------------------------------------------
    row("The gate", "api:/api/v1/gate", signoff("code"),
        http("/api/v1/gate", ref="https://github.com/acme/app/pull/1"), NONE),
    row("The gate without a token", "api:/api/v1/gate", nothing,
        http("/api/v1/gate", token=None, status=401, ref="x"), NONE),
    row("The gate asked about nothing", "api:/api/v1/gate", nothing, http("/api/v1/gate", status=400, ref=" "),
        NONE),
    row("The API's description", "api:/api/v1/openapi.json", nothing, http("/api/v1/openapi.json"), NONE),
    row("AI events over the native API", "api:/api/v1/ai-events", ingest_token,
        post_usage("/api/v1/ai-events", {"events": [AI_EVENT, {**AI_EVENT, "id": "cov-2"}]}),
        ev("usage.ingested", the("name"), "usage_batch", batch_of("native:cov-1", "native:cov-2"),
           "source accepted duplicates rejected", source="native", accepted=2, rejected=0)),
    row("AI events of which one is bad", "api:/api/v1/ai-events", ingest_token,
        post_usage("/api/v1/ai-events", {"events": [{**AI_EVENT, "id": "cov-3"},
                                                     {**AI_EVENT, "id": "cov-4", "model": ""}]},
                   status=400),
        ev("usage.ingested", the("name"), "usage_batch", batch_of("native:cov-3"),
           "source accepted duplicates rejected", source="native", accepted=1, rejected=1)),
    row("AI events sent again", "api:/api/v1/ai-events", ingested,
        post_usage("/api/v1/ai-events", {"events": [AI_EVENT]}), NONE),
    row("AI events that are no batch", "api:/api/v1/ai-events", ingest_token,
        post_usage("/api/v1/ai-events", {"event": AI_EVENT}, status=400), NONE),
    row("AI events with a token without the scope", "api:/api/v1/ai-events", audit_token,
        post_usage("/api/v1/ai-events", {"events": [AI_EVENT]}, status=403),
        ev("token.denied", the("name"), "token", the("name"), "source scope path", source="token", scope="ingest")),
    row("LiteLLM logs", "api:/api/v1/ingest/litellm", ingest_token,
        post_usage("/api/v1/ingest/litellm", [LITELLM_RECORD]),
        ev("usage.ingested", the("name"), "usage_batch", batch_of("litellm:chatcmpl-cov"),
           "source accepted duplicates rejected", source="litellm", accepted=1, rejected=0)),
    row("OTLP traces", "http:/v1/traces", ingest_token,
        post_usage("/v1/traces", OTLP_EXPORT),
        ev("usage.ingested", the("name"), "usage_batch", batch_of(f"otlp:{TRACE_ID}:{SPAN_ID}"),
           "source accepted duplicates rejected", source="otlp", accepted=1, rejected=0)),
    row("OTLP traces without a token", "http:/v1/traces", nothing,
        post_usage("/v1/traces", OTLP_EXPORT, token=None, status=401), NONE),
    row("Health, readiness and metrics", ("http:/healthz", "http:/readyz", "http:/metrics"), nothing,
        lambda world, target: health(world), NONE),
    row("A Slack request without a valid signature", "http:/slack/events unsigned", signoff("code"),
        lambda world, target: unsigned(world, target), NONE),
    row("A button this version does not have", "fallback:action", nothing,
        press("approver", "legacy_button", "1", channel="C0APPROVE"), NONE),
]

# Surfaces a table cannot read from the product: the jobs that run on their own, the HTTP routes
# outside /api/v1, what a deactivated account is refused everywhere, the words a command takes
# from the playbook (kinds, severities) or read as filters, and what no listener takes.
OTHER_SURFACES = frozenset({
    "job:digest", "job:playbook reload", "job:outbox dispatcher",
    "http:/healthz", "http:/readyz", "http:/metrics", "http:/slack/events unsigned",
    "deactivated:command", "deactivated:action", "deactivated:view", "deactivated:shortcut",
    "command:/ai-approve <kind>", "command:/ai-incident <severity>", "command:/ai-audit <filter>",
    "fallback:action", "http:/v1/traces",
})


# --- the performs that need more than a helper -----------------------------------------------------



def submit_tampered(world: Coverage, target: Target) -> str:
    """The reason form of this request, its private_metadata not what the bot wrote."""
    trigger = new_trigger_id()
    resp = world.slack.view_submission("approval_reason", {"reason": {"value": {"type": "plain_text_input",
                                                                                 "value": "x"}}},
                                       user_id=PEOPLE["approver"], private_metadata=f"{target['id']}:1:approve",
                                       trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    return f"trigger:{trigger}"


def submit_as_gone(world: Coverage, target: Target) -> str:
    """The reason form opened by an approver, submitted by the deactivated account."""
    calls_from = world.call_mark()
    key = press("approver", approval_blocks.REJECT)(world, target)
    view_id = opened_form(world, key, "approval_reason", calls_from)
    world.finished(key)
    return submit(world, PEOPLE["deactivated user"], view_id, {"reason": "Gone"})


def shortcut(world: Coverage, role: str) -> str:
    trigger = new_trigger_id()
    resp = world.slack.message_shortcut(incident_blocks.SHORTCUT, {"ts": "1700000000.000100", "text": "Leaked a key",
                                                                   "user": PEOPLE["approver"], "type": "message"},
                                        channel_id=TEAM, user_id=PEOPLE[role], trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    return f"trigger:{trigger}"


def search(world: Coverage, name: str, callback_id: str, block_id: str, action_id: str) -> None:
    """Type into a search picker of the form `name new` opens."""
    calls_from = world.call_mark()
    key = command(world, PEOPLE["outsider"], name, "new")
    view_id = opened_form(world, key, callback_id, calls_from)
    world.finished(key)
    resp = world.slack.block_suggestion(action_id, "Coverage", block_id=block_id, view_id=view_id,
                                        user_id=PEOPLE["outsider"])
    assert resp.status_code == 200 and resp.json()["options"], resp.text


def health(world: Coverage) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(world.bot.url + path, timeout=30).status_code == 200, path


def unsigned(world: Coverage, target: Target) -> None:
    for signing in ("unsigned", "forged", "stale"):
        resp = world.slack.block_action(approval_blocks.APPROVE, target["value"], user_id=PEOPLE["approver"],
                                        channel_id="C0APPROVE", trigger_id=new_trigger_id(), signing=signing)
        assert resp.status_code == 401, (signing, resp.text)


# --- which surfaces must have a row ---------------------------------------------------------------


def _labels(found: catalogue.Catalogue) -> set[str]:
    labels = set()
    for surface, names in found.names.items():
        for name in names:
            if surface == "command":
                spec = BY_NAME[name]
                labels |= {f"command:{name} {word}".rstrip() for word in (*spec.words, "help")}
            else:
                labels.add(f"{surface}:{name if isinstance(name, str) else catalogue.literal_part(name)}")
    return labels


def required_surfaces() -> set[str]:
    timers = {**approvals.TIMER_HANDLERS, **escalation.TIMER_HANDLERS, **registry.TIMER_HANDLERS}
    found = _labels(listened_to()) | {f"timer:{kind}" for kind in timers}
    found |= {f"api:{path}" for path in openapi_document()["paths"]}
    return found | OTHER_SURFACES


def test_every_surface_has_a_row():
    covered = {label for one in ROWS for label in one.covers}
    missing = sorted(required_surfaces() - covered)
    assert not missing, f"no row says what these leave in the audit log: {missing}"


def test_every_row_covers_a_real_surface_and_has_its_own_name():
    names = [one.name for one in ROWS]
    assert len(names) == len(set(names)), "a row is listed twice"
    unknown = sorted({label for one in ROWS for label in one.covers} - required_surfaces())
    assert not unknown, f"rows cover what nothing registers: {unknown}"


def test_the_table_can_tell_a_missing_row():
    """The list of what needs a row is read from the product: a new action id is in it."""
    recorder = catalogue.Recorder()
    recorder.action("approval_escalate")(lambda: None)
    assert "action:approval_escalate" in _labels(recorder.catalogue())
    assert "action:approval_approve" in required_surfaces()
    assert {"timer:approval.remind", "timer:revisit.raise", "command:/ai-usecase digest"} <= required_surfaces()


# --- the rows, through the bot ---------------------------------------------------------------------


def _shown(events: Counter) -> str:
    return "\n".join(f"    {n}× {event}" for event, n in sorted(events.items(), key=str)) or "    (none)"


@pytest.mark.e2e
@pytest.mark.parametrize("case", ROWS, ids=lambda one: one.name)
def test_row_leaves_exactly_its_audit_events(world, case):  # noqa: F811
    world.fresh_start()
    target = case.seed(world)
    world.quiet()
    mark = world.audit_mark()
    try:
        key = case.perform(world, target)
        world.finished(key)

        def expected() -> Counter:
            return Counter(e.seen_as(world, target) for e in case.events)

        def seen() -> Counter:
            return Counter(_shape(e) for e in world.events_after(mark))

        try:
            until(lambda: not expected() - seen(), timeout=SETTLE, what="the row's audit events")
        except AssertionError:
            pass  # judged below, with what there is
        world.quiet()
        assert world.finished(key) != RELEASED, f"{case.name}: the listener raised:\n{world.bot.output()[-3000:]}"
        want, got = expected(), seen()
        assert got == want, (f"{case.name}:\n  expected\n{_shown(want)}\n  audited\n{_shown(got)}\n"
                             f"  missing\n{_shown(want - got)}\n  unexpected\n{_shown(got - want)}")
        events = world.events_after(mark)
        for wanted in case.events:
            alike = [e.payload for e in events if _shape(e) == wanted.seen_as(world, target)]
            assert any(all(payload.get(k) == v for k, v in wanted.values) for payload in alike), \
                f"{case.name}: no {wanted.action} holding {dict(wanted.values)}: {alike}"
        for e in events:
            if e.action == "outbox.failed":
                _names_the_call_not_the_message(world, e)
    finally:
        if case.cleanup is not None:
            case.cleanup(world, target)


def _shape(e: Any) -> tuple:
    """What the table compares of an audit event (an outbox failure's id aside: FAILED_MESSAGE)."""
    return (e.action, e.actor, e.entity_type, FAILED_MESSAGE if e.action == "outbox.failed" else e.entity_id,
            tuple(sorted(e.payload)))


def _names_the_call_not_the_message(world: Coverage, failed: Any) -> None:
    """An outbox failure is the message that failed — its key, method, channel, template and
    attempts — and Slack's answer, never what the message said."""
    with world.db.session() as s:
        message = s.get(OutboxMessage, int(failed.entity_id))
        assert message is not None and message.status == "failed", failed
        assert failed.payload == {"key": message.key, "method": message.method, "channel": message.channel,
                                  "template": message.template, "attempts": message.attempts,
                                  "error": failed.payload["error"]}, failed.payload
        assert failed.payload["error"] and len(failed.payload["error"]) <= 500
        texts = [text for text in _strings(message.payload) if len(text) > 12]
        assert not any(text in failed.payload["error"] for text in texts), failed.payload


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []

"""Every action of the authorization matrix: what it needs in the database first (seeded through
the services), how a person does it in Slack (signed requests to the real bot: the button, then
the form the bot opened, if it opened one), and what shows it happened when it is allowed.

A cell is judged on the audit log and the domain rows, never on the wording of an answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

import escalation
from blocks import approvals as approval_blocks
from blocks import incidents as incident_blocks
from blocks import registry as registry_blocks
from blocks.home import PAGE
from models.incident import IncidentPage
from models.registry import DigestSubscriber
from services import approvals, registry
from services.registry.revisit import stamp
from tests.e2e.registry_support import form_state
from tests.e2e.waiting import until
from tests.harness.payloads import new_trigger_id
from tests.reliability.authz_world import (
    APPROVALS,
    APPROVER,
    GOVERNORS,
    INCIDENTS,
    LOADED,
    MEMBERS,
    OWNER,
    PAGED,
    PB,
    PEOPLE,
    REQUESTER,
    REVIEWER,
    Event,
    World,
)

DAY = timedelta(days=1)
TEAM_CHANNEL = "C0TEAM"
_serial = itertools.count(1)

Target = dict[str, Any]


@dataclass
class Sent:
    """The last request a cell sent: its trigger, and where the fake's call log stood before it."""

    trigger: str
    calls_from: int


Effect = Callable[[World, Target, str, list[Event], Sent], bool]


@dataclass(frozen=True)
class Action:
    """`seed` makes the fresh state the action needs; `perform` does it as `user` and returns
    once the bot has answered; `effect` tells, for an allowed cell, that it took effect."""

    seed: Callable[[World], Target]
    perform: Callable[[World, Target, str], Sent]
    effect: Effect


def now() -> datetime:
    return datetime.now(UTC)


def audited(action: str, **payload: Any) -> Effect:
    """The person's own event `action` (with these payload values) is in the log."""
    def effect(world: World, target: Target, user: str, mine: list[Event], sent: Sent) -> bool:
        return any(e.action == action and all(e.payload.get(k) == v for k, v in payload.items())
                   for e in mine)
    return effect


# --- doing things in Slack -------------------------------------------------------------------


def click(world: World, user: str, action_id: str, value: str, *, channel: str = APPROVALS,
          home: bool = False, state: dict | None = None) -> Sent:
    """A press of one of the bot's buttons: in a message in `channel`, or on App Home."""
    sent = Sent(new_trigger_id(), world.call_mark())
    view = {"id": f"VHOME{user}", "type": "home", "blocks": []} if home else None
    resp = world.slack.block_action(action_id, value, user_id=user, channel_id=channel,
                                    trigger_id=sent.trigger, view=view, state=state)
    assert resp.status_code == 200, resp.text
    world.answered(trigger_id=sent.trigger, user=user, calls_from=sent.calls_from)
    return sent


def command(world: World, user: str, name: str, text: str) -> Sent:
    sent = Sent(new_trigger_id(), world.call_mark())
    resp = world.slack.command(name, text, user_id=user, channel_id=TEAM_CHANNEL, trigger_id=sent.trigger)
    assert resp.status_code == 200, resp.text
    world.answered(trigger_id=sent.trigger, user=user, calls_from=sent.calls_from, response=resp)
    return sent


def then_submit(world: World, user: str, sent: Sent, callback_id: str, answers: dict[str, Any]) -> Sent:
    """Submit the form the bot opened for `sent`, answered as given (else as it was shown);
    nothing when the bot opened none (it refused before the form)."""
    view_id = world.opened_view(sent.trigger, sent.calls_from, callback_id)
    if view_id is None:
        return sent
    view = world.fake.view(view_id)
    submitted = Sent(new_trigger_id(), world.call_mark())
    resp = world.slack.view_submission(callback_id, form_state(view, answers), user_id=user, view_id=view_id,
                                       trigger_id=submitted.trigger)
    assert resp.status_code == 200, resp.text
    return submitted


# --- sign-off --------------------------------------------------------------------------------


def signoff(kind: str, *, changes_requested: bool = False) -> Callable[[World], Target]:
    def seed(world: World) -> Target:
        n = next(_serial)
        with world.db.session() as s:
            request = approvals.open_request(
                s, playbook=LOADED, kind=kind, audience="internal", title=f"Matrix {kind} {n}",
                reference=f"https://github.com/acme/app/pull/{n}", requester=PEOPLE[REQUESTER], now=now(),
                group_members=MEMBERS, ai_tool="Copilot")
            target = {"id": request.id, "reference": request.reference, "kind": kind}
        if changes_requested:
            with world.db.session() as s:
                outcome = approvals.decide(s, request_id=target["id"], revision=1, user=PEOPLE[APPROVER],
                                           decision="request_changes", now=now(), group_members=MEMBERS,
                                           governance_channel=PB.channels.governance,
                                           reason="Add the tests").outcome
            assert outcome == "changes_requested"
        with world.db.session() as s:
            target["value"] = approval_blocks.action_value(approvals.request_view(s, approvals.get(s, target["id"])))
        return target
    return seed


def press(action_id: str, *, home: bool = False, state: Callable[[Target], dict] | None = None,
          form: str | None = None, answers: Callable[[Target, str], dict] | None = None
          ) -> Callable[[World, Target, str], Sent]:
    """Press a sign-off button; then submit the form it opened (`form`), if it opened it."""
    def perform(world: World, target: Target, user: str) -> Sent:
        sent = click(world, user, action_id, target["value"], home=home,
                     state=state(target) if state else None)
        if form is not None:
            return then_submit(world, user, sent, form, answers(target, user) if answers else {})
        return sent
    return perform


def ticked(target: Target) -> dict:
    """The request message's checklist with its one item ticked, as Slack reports the state."""
    option = {"value": "privacy-review", "text": {"type": "plain_text", "text": "privacy-review"}}
    return {"checklist-0": {f"{approval_blocks.CHECKLIST}-0": {"type": "checkboxes", "selected_options": [option]}}}


def reason(target: Target, user: str) -> dict:
    return {"reason": f"Checked by {user}"}


def confirmation(target: Target, user: str) -> dict:
    return {"restated_reference": target["reference"], "reason": f"Read the diff, {user}"}


def resubmission(target: Target, user: str) -> dict:
    return {"reference": target["reference"] + "/v2", "summary": "Tests added"}


def glass_broken_by_the_requester(world: World, target: Target, user: str, mine: list[Event], sent: Sent) -> bool:
    """The requester's own approval is break-glass (told to every approver and governance);
    anyone else's is a plain vote."""
    wanted = "approval.break_glass" if user == PEOPLE[REQUESTER] else "approval.voted"
    return audited(wanted)(world, target, user, mine, sent)


def requested_inline(world: World, target: Target, user: str) -> Sent:
    return command(world, user, "/ai-approve", f"code https://github.com/acme/app/pull/{next(_serial)} Matrix (Copilot)")


# --- incidents -------------------------------------------------------------------------------


def incident(state: str = "open") -> Callable[[World], Target]:
    """An incident reported by the requester and paged to the responders; then acknowledged
    by the paged person, or resolved by the reporter."""
    def seed(world: World) -> Target:
        with world.db.session() as s:
            found = escalation.open_incident(s, playbook=LOADED, severity="sev2", title=f"Matrix incident {next(_serial)}",
                                             reporter=PEOPLE[REQUESTER], now=now(), group_members=MEMBERS)
            incident_id = found.id

        def paged() -> bool:
            with world.db.session() as s:
                return s.exec(select(IncidentPage).where(IncidentPage.incident_id == incident_id,
                                                         IncidentPage.user == PEOPLE[PAGED])).first() is not None

        until(paged, timeout=15, what=f"incident #{incident_id} paged by the bot's clock")
        with world.db.session() as s:
            if state == "acknowledged":
                assert escalation.acknowledge(s, incident_id=incident_id, user=PEOPLE[PAGED], now=now()).outcome \
                    == "acknowledged"
            elif state == "resolved":
                assert escalation.resolve(s, incident_id=incident_id, user=PEOPLE[REQUESTER], now=now(),
                                          summary="Patched the prompt").outcome == "resolved"
        return {"id": incident_id, "value": str(incident_id)}
    return seed


def incident_press(action_id: str, *, value: Callable[[Target], str] | None = None, form: str | None = None,
                   answers: dict | None = None) -> Callable[[World, Target, str], Sent]:
    def perform(world: World, target: Target, user: str) -> Sent:
        sent = click(world, user, action_id, value(target) if value else target["value"], channel=INCIDENTS)
        if form is not None:
            return then_submit(world, user, sent, form, answers or {})
        return sent
    return perform


def timeline_shown(world: World, target: Target, user: str, mine: list[Event], sent: Sent) -> bool:
    return f"Timeline of incident #{target['id']}" in str(world.response_to(sent.trigger))


def reported_inline(world: World, target: Target, user: str) -> Sent:
    return command(world, user, "/ai-incident", f"sev2 Matrix report {next(_serial)}")


# --- the registry ----------------------------------------------------------------------------


def _who(user: str) -> registry.Authority:
    return registry.Authority(user, GOVERNORS)


def _nudged(world: World, kind: str, record_id: int) -> None:
    """Wait until the bot's clock has sent the record's "due" nudge, so no timer of the record
    fires while the cell runs."""
    def sent() -> bool:
        return any(e.payload.get("stage") in ("due", "overdue")
                   for e in world.events_since(0, action=f"{kind}.review_nudged", entity_id=str(record_id)))
    until(sent, timeout=15, what=f"{kind} #{record_id} nudged by the bot's clock")


def use_case(*, due: bool = False) -> Callable[[World], Target]:
    """A use case its owner documented; with `due`, 100 days ago (the cadence is 90), and nudged."""
    def seed(world: World) -> Target:
        raw = {"title": f"Matrix use case {next(_serial)}", "description": "Drafts support replies",
               "owner": PEOPLE[OWNER], "audience": "internal", "purpose": "Saves time", "risk_tier": "limited",
               "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}
        with world.db.session() as s:
            record = registry.create(s, "usecase", raw, authority=_who(PEOPLE[OWNER]),
                                     now=now() - 100 * DAY if due else now(), playbook=PB)
            target = {"kind": "usecase", "id": record.id, "tag": stamp(record)}
        if due:
            _nudged(world, "usecase", target["id"])
        target["value"] = f"usecase:{target['id']}"
        target["nudge"] = f"usecase:{target['id']}:{target['tag']}"
        return target
    return seed


def vendor(*, due: bool = False) -> Callable[[World], Target]:
    """A vendor kept by its assignee (the record owner), reviewed by the vendor reviewer."""
    def seed(world: World) -> Target:
        raw = {"name": f"Matrix vendor {next(_serial)}", "provides": "LLM API", "trains_on_our_data": "no",
               "deployment": "cloud", "injection_tested": "passed", "risk_level": "medium",
               "review_status": "in_review", "assignee": PEOPLE[OWNER], "reviewer": PEOPLE[REVIEWER]}
        with world.db.session() as s:
            record = registry.create(s, "vendor", raw, authority=_who(PEOPLE[OWNER]),
                                     now=now() - 190 * DAY if due else now(), playbook=PB)
            target = {"kind": "vendor", "id": record.id, "tag": stamp(record)}
        if due:
            _nudged(world, "vendor", target["id"])
        target["value"] = f"vendor:{target['id']}"
        target["nudge"] = f"vendor:{target['id']}:{target['tag']}"
        return target
    return seed


def nothing(world: World) -> Target:
    return {}


def record_press(action_id: str, *, nudge: bool = False, home: bool = False, form: str | None = None,
                 answers: dict | None = None) -> Callable[[World, Target, str], Sent]:
    """A registry button: on a nudge DM (the value carries the review date), on App Home, or on
    a record message; then the form it opened, if any."""
    def perform(world: World, target: Target, user: str) -> Sent:
        value = target["nudge"] if nudge else target["value"]
        sent = click(world, user, action_id, value, channel=f"D{user[1:]}", home=home)
        if form is not None:
            return then_submit(world, user, sent, form, answers or {})
        return sent
    return perform


def slash(name: str, words: Callable[[Target], str], *, form: str | None = None,
          answers: Callable[[Target, str], dict] | None = None) -> Callable[[World, Target, str], Sent]:
    def perform(world: World, target: Target, user: str) -> Sent:
        sent = command(world, user, name, words(target))
        if form is not None:
            return then_submit(world, user, sent, form, answers(target, user) if answers else {})
        return sent
    return perform


def status_became(status: str) -> Effect:
    def effect(world: World, target: Target, user: str, mine: list[Event], sent: Sent) -> bool:
        with world.db.session() as s:
            return registry.get(s, "usecase", target["id"]).status == status and \
                audited("usecase.edited")(world, target, user, mine, sent)
    return effect


def subscribed(world: World, target: Target, user: str, mine: list[Event], sent: Sent) -> bool:
    with world.db.session() as s:
        return s.get(DigestSubscriber, user) is not None


def unsubscribed(world: World) -> Target:
    with world.db.session() as s:
        for row in s.exec(select(DigestSubscriber)).all():
            s.delete(row)
    return {}


def new_use_case(target: Target, user: str) -> dict:
    return {"title": f"Matrix use case by {user}", "description": "Summarises tickets", "owner": user,
            "audience": "internal", "purpose": "Saves time", "risk_tier": "limited",
            "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}


def new_vendor(target: Target, user: str) -> dict:
    return {"name": f"Matrix vendor by {user}", "provides": "Embeddings", "trains_on_our_data": "no",
            "deployment": "cloud", "injection_tested": "passed", "risk_level": "low",
            "review_status": "not_started", "assignee": user}


# --- the playbook, on call, App Home -----------------------------------------------------------


def reload_with_a_change(world: World) -> Target:
    """A harmless change to the file the bot reads, so an allowed reload applies something."""
    with world.playbook_copy.open("a") as out:
        out.write(f"# reloaded in cell {next(_serial)}\n")
    return {}


_windows = itertools.count(10)


def window(world: World) -> Target:
    """An hour of ai-primary (the paged person's rotation) no earlier cell has overridden."""
    start = (now() + next(_windows) * DAY).astimezone(PB.tz).replace(minute=0, second=0, microsecond=0)
    return {"from": f"{start:%Y-%m-%dT%H:%M}", "to": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}"}


def override(world: World, target: Target, user: str) -> Sent:
    return command(world, user, "/ai-oncall", f"override <@{PEOPLE[APPROVER]}> ai-primary {target['from']} {target['to']}")


def home_published(world: World, target: Target, user: str, mine: list[Event], sent: Sent) -> bool:
    return any(c.method == "views.publish" and c.args.get("user_id") == user
               for c in world.fake.calls[sent.calls_from:])


def page_home(world: World, target: Target, user: str) -> Sent:
    return click(world, user, f"{PAGE}_next_records", "records:5", home=True)


ACTIONS: dict[str, Action] = {
    # sign-off: the request's buttons and the forms they open
    "approve": Action(signoff("code"), press(approval_blocks.APPROVE), audited("approval.voted")),
    "reject": Action(signoff("code"), press(approval_blocks.REJECT, form="approval_reason", answers=reason),
                     audited("approval.voted", decision="reject")),
    "request changes": Action(signoff("code"), press(approval_blocks.CHANGES, form="approval_reason", answers=reason),
                              audited("approval.voted", decision="request_changes")),
    "cancel": Action(signoff("code"), press(approval_blocks.CANCEL), audited("approval.cancelled")),
    "resubmit": Action(signoff("code", changes_requested=True),
                       press(approval_blocks.RESUBMIT, form="approval_resubmit_form", answers=resubmission),
                       audited("approval.resubmitted")),
    "approve with checklist": Action(signoff("launch"), press(approval_blocks.APPROVE, state=ticked),
                                     audited("approval.voted", confirmations=["privacy-review"])),
    "break-glass approve": Action(signoff("hotfix"),
                                  press(approval_blocks.APPROVE, form="approval_break_glass", answers=reason),
                                  glass_broken_by_the_requester),
    "high-assurance confirm": Action(signoff("model"),
                                     press(approval_blocks.APPROVE, form="approval_confirm", answers=confirmation),
                                     audited("approval.voted")),
    "approve on App Home": Action(signoff("code"), press(approval_blocks.APPROVE, home=True),
                                  audited("approval.voted")),
    "/ai-approve <kind>": Action(nothing, requested_inline, audited("approval.requested")),
    # incidents: the summary's and the reminder's buttons, and the forms they open
    "acknowledge": Action(incident(), incident_press(incident_blocks.ACK), audited("incident.acknowledged")),
    "un-acknowledge": Action(incident("acknowledged"), incident_press(incident_blocks.UNACK),
                             audited("incident.unacknowledged")),
    "resolve": Action(incident(), incident_press(incident_blocks.RESOLVE, form=incident_blocks.RESOLVE_FORM,
                                                 answers={"summary": "Rolled the prompt back"}),
                      audited("incident.resolved")),
    "post update": Action(incident(), incident_press(incident_blocks.UPDATE, form=incident_blocks.UPDATE_FORM,
                                                     answers={"text": "Still looking"}),
                          audited("incident.update_posted")),
    "snooze updates": Action(incident(), incident_press(incident_blocks.SNOOZE, value=lambda t: f"{t['id']}:30"),
                             audited("incident.updates_snoozed")),
    "timeline": Action(incident(), incident_press(incident_blocks.TIMELINE), timeline_shown),
    "reopen": Action(incident("resolved"), incident_press(incident_blocks.REOPEN), audited("incident.reopened")),
    "/ai-incident <severity>": Action(nothing, reported_inline, audited("incident.opened")),
    # the registry: nudge buttons, record buttons, commands and the forms they open
    "still accurate (use case)": Action(use_case(due=True), record_press(registry_blocks.STILL_ACCURATE, nudge=True),
                                        audited("usecase.reviewed")),
    "update (use case nudge)": Action(use_case(due=True),
                                      record_press(registry_blocks.UPDATE, nudge=True, form="usecase_edit",
                                                   answers={"description": "Drafts replies; agents edit"}),
                                      audited("usecase.edited")),
    "snooze (use case)": Action(use_case(due=True), record_press(registry_blocks.SNOOZE, nudge=True),
                                audited("usecase.review_snoozed")),
    "snooze (vendor)": Action(vendor(due=True), record_press(registry_blocks.SNOOZE, nudge=True),
                              audited("vendor.review_snoozed")),
    "still accurate (vendor)": Action(vendor(due=True),
                                      record_press(registry_blocks.STILL_ACCURATE, nudge=True, form="vendor_review",
                                                   answers={"review_status": "reviewed"}),
                                      audited("vendor.reviewed")),
    "/ai-usecase edit": Action(use_case(), slash("/ai-usecase", lambda t: f"edit {t['id']}", form="usecase_edit",
                                                 answers=lambda t, u: {"description": f"Edited by {u}"}),
                               audited("usecase.edited")),
    "/ai-vendor edit": Action(vendor(), slash("/ai-vendor", lambda t: f"edit {t['id']}", form="vendor_edit",
                                              answers=lambda t, u: {"contact": f"{u}@example.com"}),
                              audited("vendor.edited")),
    "/ai-usecase reviewed": Action(use_case(), slash("/ai-usecase", lambda t: f"reviewed {t['id']}"),
                                   audited("usecase.reviewed")),
    "review on App Home": Action(use_case(), record_press(registry_blocks.REVIEWED, home=True),
                                 audited("usecase.reviewed")),
    "/ai-usecase retire": Action(use_case(), slash("/ai-usecase", lambda t: f"retire {t['id']}"),
                                 audited("usecase.retired")),
    "approve use case": Action(use_case(), slash("/ai-usecase", lambda t: f"edit {t['id']}", form="usecase_edit",
                                                 answers=lambda t, u: {"status": "approved"}),
                               status_became("approved")),
    "reject use case": Action(use_case(), slash("/ai-usecase", lambda t: f"edit {t['id']}", form="usecase_edit",
                                                answers=lambda t, u: {"status": "rejected"}),
                              status_became("rejected")),
    "vendor review sign-off": Action(vendor(), slash("/ai-vendor", lambda t: f"reviewed {t['id']}",
                                                     form="vendor_review",
                                                     answers=lambda t, u: {"review_status": "reviewed"}),
                                     audited("vendor.reviewed")),
    "/ai-usecase new": Action(nothing, slash("/ai-usecase", lambda t: "new", form="usecase_new", answers=new_use_case),
                              audited("usecase.created")),
    "/ai-vendor new": Action(nothing, slash("/ai-vendor", lambda t: "new", form="vendor_new", answers=new_vendor),
                             audited("vendor.created")),
    "/ai-usecase digest on": Action(unsubscribed, slash("/ai-usecase", lambda t: "digest on"), subscribed),
    # the playbook, on call, App Home
    "/ai-playbook reload": Action(reload_with_a_change, slash("/ai-playbook", lambda t: "reload"),
                                  audited("playbook.applied")),
    "/ai-oncall override": Action(window, override, audited("oncall.override_added")),
    "page App Home": Action(nothing, page_home, home_published),
}

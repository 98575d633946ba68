"""User text is data, never markup: every builder in blocks/, rendered with hostile values in
every field a person (or the playbook's author) writes, sends no live mention or link that
came from that text — and shows plain_text fields as typed, not double-escaped.

The builders are enumerated from the modules, so a new public function in blocks/ fails here
until it has a hostile case below or is listed as taking no user text.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

import blocks
from blocks import (
    approval_modals,
    approvals,
    audit,
    audit_witness,
    digest,
    faults,
    help,
    home,
    incidents,
    oncall,
    playbook,
    registry,
    registry_forms,
    text,
    usage_alerts,
)
from blocks import usage as usage_blocks
from blocks.templates import TEMPLATES
from escalation.timeline import _line as timeline_line
from services.registry import fields
from tests.harness.markup import parsed_texts, text_objects
from tests.unit.test_blocks import (
    MESSAGE_BLOCKS,
    VIEW_BLOCKS,
    assert_valid_message,
    largest_incident,
    largest_view,
)
from tests.unit.test_registry_blocks import largest_digest, largest_record, summary
from tests.unit.usage import usage_samples

# Everything Slack would turn into a ping or a link, a pre-escaped one, and emphasis (which is
# fine: only &, < and > are special).
HOSTILE = ("<!channel> <!here> <!everyone> <!subteam^S123> <@U999> <https://evil|click> "
           "&lt;!channel&gt; *bold*")
# A URL-looking value that tries to end its own link and start markup.
HOSTILE_URL = "https://evil.example/x|<!channel>><@U999>"
# Substrings that may never reach mrkdwn or a message's text: what the person typed, live —
# and their pre-escaped `&lt;!channel&gt;` passed through, which Slack would show as `<!channel>`
# (escaped, it reads `&amp;lt;!channel&amp;gt;`; the `*bold*` after it pins the spot).
LIVE = ("<!channel", "<!here", "<!everyone", "<!subteam^S123", "<@U999", "<https://evil",
        "&lt;!channel&gt; *bold*")
# The markup we build ourselves, from ids and URLs we checked: the only `<…>` allowed.
OURS = re.compile(r"^(?:@[UW]0[A-Z0-9]+|#[CGD]0[A-Z0-9]+|!date\^\d+\^[^|]*\|[^|]*|!subteam\^S0[A-Z0-9]+"
                  r"|(?:https://(?:example\.com|acme\.slack\.com|wiki\.example)|slack://app)[^|\s]*(?:\|[^|]*)?)$")


def hostile_view(**extra: Any) -> dict:
    view = largest_view(votes=3, checklist=3)
    vote = dict(view["last_vote"], reason=HOSTILE, group="reviewers")
    view.update(title=HOSTILE, reference=HOSTILE, ai_tool=HOSTILE, summary=HOSTILE,
                use_case={"id": 1, "ref": "UC-1", "title": HOSTILE, "warning": HOSTILE},
                votes=[dict(vote, user=f"U0REV{i}") for i in range(3)], last_vote=vote,
                approvers_to_notify=["U0REV1"], checklist_confirmed=[])
    view.update(extra)
    view["policy"].update(checklist=[{"id": f"item-{i}", "text": HOSTILE} for i in range(3)],
                          approvers=[HOSTILE, "leads"])
    return view


def hostile_incident(status: str = "open", event_type: str = "paged") -> dict:
    view = largest_incident(status, event_type)
    view.update(title=HOSTILE, description=HOSTILE, affected=HOSTILE, resolution_summary=HOSTILE,
                postmortem_url=HOSTILE_URL, source_permalink=HOSTILE_URL,
                protocol=[{"id": "p1", "text": HOSTILE}], pages=view["pages"][:3],
                chain={"policy": "critical", "repeat": 1, "steps": [{"target": HOSTILE, "wait": "5m"}]})
    view["event"].update(text=HOSTILE, reason=HOSTILE, target=HOSTILE, users=["U0P1"])
    return view


def hostile_record(kind: str) -> dict:
    view = largest_record(kind)
    for spec in fields.FIELDS[kind]:
        if spec.kind in (fields.TEXT, fields.LONG_TEXT, fields.URL):
            view[spec.name] = HOSTILE_URL if spec.kind == fields.URL else HOSTILE
        elif spec.kind == fields.MODELS:
            view[spec.name] = [{"provider": HOSTILE, "model": HOSTILE, "version": "1", "hosting": HOSTILE}]
        elif spec.kind == fields.LINKS:
            view[spec.name] = [{"id": 1, "ref": "X-1", "title": HOSTILE, "status": "in_review"}]
    view.update(title=HOSTILE, flags=[{"vendor_id": 1, "ref": "V-1", "name": HOSTILE, "review_status": "rejected"}])
    return view


def hostile_summary(kind: str = "usecase", n: int = 1) -> dict:
    return {**summary(kind, n), "title": HOSTILE,
            "flags": [{"vendor_id": 1, "ref": "V-1", "name": HOSTILE, "review_status": "rejected"}]}


def hostile_digest(personal: str | None = None) -> dict:
    content = largest_digest(personal)
    for item in content["waiting"]["items"]:
        item["title"] = HOSTILE
    for item in content["incidents"]["items"]:
        item["title"] = HOSTILE
    page = {"total": 20, "items": [hostile_summary(n=i) for i in range(3)]}
    content.update(due=page, flagged=page, vendors={"total": 3, "items": [hostile_summary("vendor", 1)]},
                   changes=[{"action": "x", "label": HOSTILE, "count": 1}])
    return content


def timeline_entries() -> list[dict]:
    """The lines escalation.timeline writes for every event, with what people typed in them."""
    payload = {"severity": HOSTILE, "title": HOSTILE, "user": "U0P1", "target": HOSTILE, "step": 1, "round": 1,
               "reason": HOSTILE, "text": HOSTILE, "minutes": 30, "summary": HOSTILE, "channel": "C0INC",
               "taken": HOSTILE, "name": HOSTILE}
    actions = ["incident.opened", "incident.paged", "incident.step_skipped", "incident.acknowledged",
               "incident.update_posted", "incident.resolved", "incident.reopened", "incident.channel_created",
               "incident.channel_renamed", "incident.channel_failed", "incident.something_new"]
    return [{"at": "2026-11-25T09:00:00+00:00", "action": a, "text": timeline_line(a, "U0PRI1", payload)}
            for a in actions] + [{"at": "2026-11-25T09:00:00+00:00", "action": "incident.paged",
                                  "text": timeline_line("incident.paged", None, {**payload, "user": None})}]


def hostile_event(seq: int = 7, **extra: Any) -> dict:
    """A sealed event as /ai-audit shows it, with what people typed in every field that holds it."""
    event = {"seq": seq, "id": seq, "at": "2026-11-25T09:00:00.000000Z", "actor": HOSTILE, "action": HOSTILE,
             "entity_type": HOSTILE, "entity_id": HOSTILE, "request_id": HOSTILE, "leaf_hash": "ab" * 32,
             "payload": {"title": HOSTILE, HOSTILE: HOSTILE, "nested": {"reason": HOSTILE}, "list": [HOSTILE]}}
    return {**event, **extra}


def shift(**extra: Any) -> SimpleNamespace:
    moment = datetime(2026, 12, 24, 18, tzinfo=UTC)
    return SimpleNamespace(rotation=HOSTILE, start=moment, end=moment, at=moment, user="U0ON", override=True,
                           **extra)


PLAYBOOK_DATA = {"path": HOSTILE, "hash": HOSTILE, "previous": HOSTILE, "version": HOSTILE, "actor": HOSTILE,
                 "trigger": HOSTILE, "kept": HOSTILE, "refused": HOSTILE, "issues": [HOSTILE] * 3,
                 "group": HOSTILE, "error": HOSTILE}
OVERRIDE = {"override": {"id": 1, "rotation": HOSTILE, "user": "U0SUB", "start": HOSTILE, "end": HOSTILE,
                         "created_by": "U0ADMIN", "cancelled": False},
            "event": {"type": "override_added", "actor": "U0ADMIN"}}
# What a caller hands a builder that takes mrkdwn: user text in it already escaped.
ESCAPED = text.escape(HOSTILE)

def hostile_usage_alert(status: str = "open") -> dict[str, Any]:
    """A usage alert whose every name came from hostile telemetry."""
    names = [HOSTILE, HOSTILE_URL]
    return {"id": 3, "rule": HOSTILE, "key": HOSTILE, "day": HOSTILE, "summary": HOSTILE,
            "evidence": {"events": 2, "first_seen": "2026-12-01T09:00:00+00:00", "last_seen": None,
                         "services": names, "people": [*names, "U0OK"], "models": names,
                         "providers": names, "use_cases": names, "reasons": names, "problem": HOSTILE,
                         "median": HOSTILE, "today": HOSTILE, "redactions": {HOSTILE: HOSTILE},
                         "vendors": names},
            "status": status, "decided_by": "U0BOB", "decided_at": "2026-12-01T09:00:00+00:00",
            "incident_id": 4, "raised_at": "2026-12-01T09:00:00+00:00", "timezone": HOSTILE}


# Builder → renders with hostile values in every user-text field it takes.
CASES: dict[Callable, list[Callable[[], Any]]] = {
    approvals.request_blocks: [lambda: approvals.request_blocks(hostile_view()),
                               lambda: approvals.request_blocks(hostile_view(), interactive=False),
                               lambda: approvals.request_blocks(hostile_view(reference=HOSTILE_URL))],
    approvals.request_summary_line: [lambda: approvals.request_summary_line(hostile_view())],
    approvals.policy_line: [lambda: approvals.policy_line(hostile_view())],
    **{fn: [lambda fn=fn, s=s: fn(hostile_view(status=s, reference=r))
            for s in ("pending", "approved", "changes_requested") for r in (HOSTILE, HOSTILE_URL)]
       for fn in approvals.TEMPLATES.values()},
    approval_modals.new_request_modal: [lambda: approval_modals.new_request_modal(
        kinds=["code"], uses=[("use-1", HOSTILE)], checklists={"code": [HOSTILE]}, channel="C0TEAM",
        use_cases=[(1, HOSTILE)])],
    approval_modals.reason_modal: [lambda: approval_modals.reason_modal(hostile_view(), "reject")],
    approval_modals.confirm_modal: [lambda: approval_modals.confirm_modal(hostile_view())],
    approval_modals.break_glass_modal: [lambda: approval_modals.break_glass_modal(hostile_view())],
    approval_modals.resubmit_modal: [lambda: approval_modals.resubmit_modal(hostile_view())],
    incidents.summary_blocks: [lambda s=s: incidents.summary_blocks(hostile_incident(s))
                               for s in ("open", "acknowledged", "resolved")],
    **{fn: [lambda fn=fn, s=s, e=e: fn(hostile_incident(s, e))
            for s in ("open", "resolved")
            for e in ("paged", "acknowledged", "update_posted", "channel_failed", "snoozed", "mystery")]
       for fn in incidents.TEMPLATES.values()},
    incidents.new_incident_modal: [lambda: incidents.new_incident_modal(
        severities=[("sev1", HOSTILE)], metadata="C0CHAN:1.2", title=HOSTILE, description=HOSTILE)],
    incidents.resolve_modal: [lambda: incidents.resolve_modal(hostile_incident())],
    incidents.update_modal: [lambda: incidents.update_modal(hostile_incident())],
    incidents.timeline_answer: [lambda: incidents.timeline_answer(hostile_incident(), timeline_entries())],
    home.incident_line: [lambda: home.incident_line({"id": 1, "severity": HOSTILE, "title": HOSTILE,
                                                     "acknowledged_by": "U0ACK", "channel": "C0INC"})],
    home.home_view: [lambda: home.home_view(
        waiting=[hostile_view()], mine=[hostile_view()], notice=ESCAPED,
        records={"items": [hostile_summary()], "total": 1, "offset": 0},
        vendors={"items": [hostile_summary("vendor")], "total": 1, "offset": 0},
        incidents={"items": [{"id": 1, "severity": "sev1", "title": HOSTILE, "channel": "C0INC",
                              "acknowledged_by": None}], "total": 1, "offset": 0},
        on_call=[(HOSTILE, "U0ON"), (HOSTILE, None)]),
        lambda: home.home_view(usage={"week": usage_samples.week(HOSTILE),
                                      "alerts": usage_samples.open_alerts(HOSTILE)})],
    digest.digest_blocks: [lambda p=p: digest.digest_blocks(hostile_digest(p)) for p in (None, "U0ME")],
    digest.registry_digest: [lambda p=p: digest.registry_digest(hostile_digest(p)) for p in (None, "U0ME")]
    + [lambda: digest.registry_digest({**hostile_digest(), "home_link": HOSTILE_URL}),
       lambda: digest.registry_digest({**hostile_digest(), "usage": usage_samples.week(HOSTILE)})],
    registry.summary_line: [lambda: registry.summary_line(hostile_summary())],
    registry.record_blocks: [lambda k=k: registry.record_blocks(hostile_record(k)) for k in ("usecase", "vendor")],
    registry.record_message: [lambda k=k: registry.record_message(hostile_record(k)) for k in ("usecase", "vendor")]
    + [lambda: registry.record_message({**hostile_record("usecase"), "observed": usage_samples.observed(HOSTILE)})],
    registry.list_message: [lambda: registry.list_message("usecase", "stale", [hostile_summary()], 30,
                                                          offset=0, page_size=1)],
    registry.saved_message: [lambda: registry.saved_message(hostile_summary(), created=True),
                             lambda: registry.saved_message(hostile_summary(), created=False, changed=["title"])],
    registry.registry_nudge: [lambda st=st: registry.registry_nudge({**hostile_summary(), "stage": st, "tag": "t",
                                                                     "snoozes_left": 1})
                              for st in ("soon", "due", "overdue")],
    registry.registry_raise: [lambda: registry.registry_raise({**hostile_summary(), "days_overdue": 3})],
    registry_forms.record_modal: [lambda k=k, m=m: registry_forms.record_modal(
        k, mode=m, record=hostile_record(k), links=[(1, HOSTILE)], metadata="1:C0CHAN")
        for k in ("usecase", "vendor") for m in ("new", "edit")],
    registry_forms.vendor_review_modal: [lambda: registry_forms.vendor_review_modal(
        {**hostile_record("vendor"), "assignee": "U0A"})],
    oncall.overview_answer: [lambda: oncall.overview_answer([(HOSTILE, "U0ON", [shift()])], tz="UTC")],
    oncall.shifts_answer: [lambda: oncall.shifts_answer("U0ON", [shift()], tz="UTC")],
    oncall.oncall_override: [lambda: oncall.oncall_override(OVERRIDE)],
    audit_witness.audit_checkpoint: [lambda sg=sg: audit_witness.audit_checkpoint(
        {"size": 3, "root_hash": HOSTILE, "note": f"{HOSTILE}\n3\n{HOSTILE}\n", "signed": sg,
         "at": HOSTILE}) for sg in (True, False)],
    playbook.playbook_applied: [lambda: playbook.playbook_applied(PLAYBOOK_DATA)],
    playbook.playbook_refused: [lambda: playbook.playbook_refused(PLAYBOOK_DATA)],
    playbook.usergroup_unresolved: [lambda: playbook.usergroup_unresolved(PLAYBOOK_DATA)],
    playbook.summary_answer: [lambda: playbook.summary_answer(f"{HOSTILE}\n{HOSTILE}", short_hash=HOSTILE,
                                                              problems={HOSTILE: HOSTILE})],
    playbook.reload_answer: [lambda s=s: playbook.reload_answer(s, hash_=HOSTILE, issues=[HOSTILE])
                             for s in ("applied", "unchanged", "refused")],
    audit.entity_label: [lambda: audit.entity_label(HOSTILE, HOSTILE),
                         lambda: audit.entity_label("approval_request", HOSTILE)],
    audit.payload_summary: [lambda: audit.payload_summary(hostile_event()["payload"])],
    audit.event_line: [lambda: audit.event_line(hostile_event(), tz="UTC"),
                       lambda: audit.event_line(hostile_event(actor="U0ACTOR", entity_type="usecase"), tz="UTC")],
    audit.log_page: [lambda: audit.log_page([hostile_event(9), hostile_event(8, actor="U0ACTOR")], title=HOSTILE,
                                            filter_text=HOSTILE, newer=True, older=True, tz="UTC"),
                     lambda: audit.log_page([], title=HOSTILE, filter_text=HOSTILE, newer=False, older=False,
                                            tz="UTC", empty=HOSTILE)],
    audit.admins_only: [lambda: audit.admins_only(["U0ADMIN", HOSTILE], what=HOSTILE)],
    audit.refused: [lambda: audit.refused(HOSTILE)],
    audit.verify_answer: [lambda ok=ok: audit.verify_answer(ok, HOSTILE, [HOSTILE, HOSTILE]) for ok in (True, False)],
    audit.checkpoint_answer: [lambda: audit.checkpoint_answer(3, HOSTILE, HOSTILE)],
    # Telemetry names every model, provider, service and user id: anyone with an ingest token.
    usage_blocks.model_label: [lambda: usage_blocks.model_label(HOSTILE, HOSTILE)],
    usage_blocks.observed_blocks: [lambda: usage_blocks.observed_blocks(usage_samples.observed(HOSTILE, many=2))],
    usage_blocks.summary_message: [lambda: usage_blocks.summary_message(usage_samples.summary(HOSTILE))],
    usage_blocks.week_lines: [lambda: "\n".join(usage_blocks.week_lines(usage_samples.week(HOSTILE)))],
    usage_blocks.digest_usage_blocks: [lambda: usage_blocks.digest_usage_blocks(usage_samples.week(HOSTILE))],
    usage_blocks.home_usage_blocks: [lambda: usage_blocks.home_usage_blocks(
        usage_samples.week(HOSTILE), usage_samples.open_alerts(HOSTILE))],
    usage_alerts.usage_alert: [lambda s=s: usage_alerts.usage_alert(hostile_usage_alert(s))
                               for s in ("open", "acknowledged", "incident")],
    # These take mrkdwn their caller phrased, user text in it escaped (ESCAPED) — the case
    # shows the builder keeps it dead and adds no live markup of its own.
    playbook.plain_answer: [lambda c=c: playbook.plain_answer(ESCAPED, title=HOSTILE, code=c) for c in (True, False)],
    registry.nudge_answer: [lambda: registry.nudge_answer(ESCAPED)],
    help.help_message: [lambda: help.help_message("/ai-approve", error=ESCAPED)],
    help.error_message: [lambda: help.error_message(ESCAPED)],
    faults.notice_modal: [lambda: faults.notice_modal(ESCAPED)],
}

# Public functions that take no text a person or the playbook wrote (ids, counts, the fixed
# catalogue), or that are the escaping helpers themselves (tested at the end of this file).
NO_USER_TEXT = {
    "approvals.action_value", "approvals.parse_action_value", "registry.nudge_value",
    "registry.parse_record_value", "home.parse_page_value", "incidents.parse_incident_value",
    "incidents.parse_snooze_value", "incidents.headline",  # plain text, for the header (escaped where used as mrkdwn)
    "help.not_available_message",  # the command, a catalogue word and a capability: all ours
    "faults.fault", "faults.database_unavailable",  # the request id only
    "values.number", "values.parts", "values.record_id",
    "usage_alerts.alert_value", "usage_alerts.parse_alert_value",  # an alert id, for a button
    "audit.page_value", "audit.parse_page_value",  # a seq and the filter's canonical words, for a button
    "text.escape", "text.plain", "text.clip", "text.md", "text.code_sections", "text.link", "text.linkable",
    "text.mention", "text.channel", "text.usergroup",
}


def public_functions() -> Iterator[tuple[str, Callable]]:
    for info in pkgutil.iter_modules(blocks.__path__):
        module = importlib.import_module(f"blocks.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{info.name}.{name}", fn


def test_every_public_builder_has_a_hostile_case_or_takes_no_user_text():
    found = dict(public_functions())
    missing = [name for name, fn in found.items() if fn not in CASES and name not in NO_USER_TEXT]
    assert not missing, f"builders without a hostile-input case in {__name__}: {missing}"
    both = [name for name, fn in found.items() if fn in CASES and name in NO_USER_TEXT]
    assert not both, both
    assert sorted(NO_USER_TEXT - set(found)) == [], "listed but no longer in blocks/"


def test_every_outbox_template_has_a_hostile_case():
    assert [name for name, fn in TEMPLATES.items() if fn not in CASES] == []


# -- walking what a builder returned -----------------------------------------------------------

def _as_data(rendered: Any) -> Any:
    if isinstance(rendered, list):
        return [b.to_dict() if hasattr(b, "to_dict") else b for b in rendered]
    return rendered


def mrkdwn_of(rendered: Any) -> list[str]:
    """Every string Slack parses for mentions and links: mrkdwn objects, a message's `text`
    (its notification and fallback), and a line a builder returns for others to place."""
    return [rendered] if isinstance(rendered, str) else parsed_texts(_as_data(rendered))


def cases() -> list[Any]:
    return [pytest.param(render, id=f"{fn.__module__.removeprefix('blocks.')}.{fn.__name__}-{number}")
            for fn, renders in CASES.items() for number, render in enumerate(renders)]


@pytest.mark.parametrize("render", cases())
def test_no_live_markup_from_user_text(render):
    for piece in mrkdwn_of(render()):
        leaks = [live for live in LIVE if live in piece]
        assert not leaks, f"{leaks} live in: {piece[:400]}"
        foreign = [m for m in re.findall(r"<([^<>]*)>", piece) if not OURS.match(m)]
        assert not foreign, f"markup we did not build: {foreign} in: {piece[:400]}"


# Templates that render nothing anyone typed (kept in CASES so a field added later is checked).
WITHOUT_TEXT = {incidents.incident_update_reminder}


@pytest.mark.parametrize("fn", [pytest.param(fn, id=f"{fn.__module__}.{fn.__name__}") for fn in CASES])
def test_each_case_puts_the_hostile_text_in_front_of_the_builder(fn):
    """A case whose renders never show the hostile value proves nothing."""
    shown = [json.dumps(_as_data(render())) for render in CASES[fn]]
    assert any("!channel" in s for s in shown) is (fn not in WITHOUT_TEXT)


@pytest.mark.parametrize("render", cases())
def test_plain_text_shows_what_was_typed_not_escaped_twice(render):
    data = _as_data(render())
    for piece in text_objects(data, "plain_text"):
        assert "&amp;" not in piece and "&lt;!channel" not in piece.replace(HOSTILE, ""), piece
    for element in _elements(data):
        for key in ("initial_value", "placeholder"):
            value = element.get(key)
            if isinstance(value, str):
                assert "&amp;" not in value, value


def _elements(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _elements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _elements(value)


@pytest.mark.parametrize("render", cases())
def test_hostile_renders_are_still_valid_block_kit(render):
    rendered = render()
    if isinstance(rendered, str):
        return
    data = _as_data(rendered)
    if isinstance(data, list):
        assert len(data) <= MESSAGE_BLOCKS
        for raw in data:
            Block.parse(raw).validate_json()
    elif data.get("type") in ("modal", "home"):
        assert len(data["blocks"]) <= VIEW_BLOCKS
        View(**data).validate_json()
    elif "blocks" in data:
        assert_valid_message(data)


# -- the helpers themselves --------------------------------------------------------------------

def test_escape_replaces_exactly_the_three_characters():
    assert text.escape("a & b < c > d *e* _f_ `g`") == "a &amp; b &lt; c &gt; d *e* _f_ `g`"
    assert text.escape("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"
    assert text.escape(None) == "" and text.escape(12) == "12"


@pytest.mark.parametrize("limit", range(1, 30))
def test_an_escaped_text_cut_to_a_limit_never_splits_an_entity(limit):
    cut = text.escape("<<&&>>" * 5, limit)
    assert len(cut) <= limit
    body = cut.removesuffix("…")
    assert re.fullmatch(r"(?:&lt;|&gt;|&amp;)*", body), cut


def test_plain_undoes_escape():
    for sample in (HOSTILE, "&amp;lt;", "a&b<c>d", "&lt;"):
        assert text.plain(text.escape(sample)) == sample


@pytest.mark.parametrize("url", ["https://x.example/a?b=1&c=2", "http://x.example", "slack://app?team=T1&id=A1"])
def test_clean_urls_are_linked_with_an_escaped_label(url):
    assert text.link(url, "<!here> & co") == f"<{url}|&lt;!here&gt; &amp; co>"


@pytest.mark.parametrize("url", [HOSTILE_URL, "https://x.example/a b", "https://x.example/<!here>",
                                 "javascript:alert(1)", "https://x.example/\x00", "ftp://x.example", "", None])
def test_urls_that_could_smuggle_markup_are_shown_as_text(url):
    shown = text.link(url, url)
    assert "<" not in shown and ">" not in shown


@pytest.mark.parametrize("helper,good,built", [(text.mention, "U0AB12", "<@U0AB12>"),
                                               (text.channel, "C0AB12", "<#C0AB12>"),
                                               (text.usergroup, "S0AB12", "<!subteam^S0AB12>")])
def test_mentions_are_built_only_from_slack_ids(helper, good, built):
    assert helper(good) == built
    for bad in ("U1> <!channel", "<!here>", "u0lower", "U0AB12|x"):
        assert "<" not in helper(bad)

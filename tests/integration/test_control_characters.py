"""Text holding a NUL (which PostgreSQL refuses in text and JSON) or another control character
nobody types on purpose is refused at the input boundary with a sentence naming it, and
nothing is written — on SQLite and on PostgreSQL (TEST_DATABASE_URL) alike."""

from __future__ import annotations

import pytest

import escalation
from services import approvals, registry
from services.inputs import check_text
from tests.integration.approvals import signoff_world as signoff
from tests.integration.escalation import incident_world as incidents
from tests.integration.registry import registry_world as records

REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85", "\x9f"]
KEPT = ["\t", "\n", "\r\n", "\u200f", "\u202e", "e\u0301", "🌊"]  # tab, newlines, RTL marks, combining, emoji


@pytest.mark.parametrize("char", REFUSED)
def test_check_text_refuses_a_control_character_and_names_it(char):
    errors: dict[str, str] = {}
    check_text(errors, "title", "The title", f"Refactor{char}billing", 150)
    assert errors["title"].startswith(f"The title contains a control character (U+{ord(char[0]):04X}) "
                                      "at character 9")


@pytest.mark.parametrize("char", KEPT)
def test_check_text_keeps_what_people_do_type(char):
    errors: dict[str, str] = {}
    assert check_text(errors, "title", "The title", f"Refactor{char}billing", 150) == f"Refactor{char}billing"
    assert errors == {}


def test_check_text_refuses_what_is_not_text():
    errors: dict[str, str] = {}
    assert check_text(errors, "title", "The title", ["a list"], 150) is None  # type: ignore[arg-type]
    assert errors == {"title": "The title must be text."}


@pytest.mark.parametrize("field", ["title", "reference", "ai_tool", "summary"])
def test_a_sign_off_request_with_a_nul_is_refused_and_nothing_written(db, field):
    before = signoff.counts(db)
    with pytest.raises(approvals.ApprovalInputError) as refused:
        signoff.open_request(db, **{field: "bad\x00value"})
    assert refused.value.field == field and "U+0000" in refused.value.message
    assert signoff.new_rows(db, before) == {}


@pytest.mark.parametrize("decision,field", [("reject", "reason"), ("request_changes", "reason")])
def test_a_decision_reason_with_a_nul_is_refused_and_nothing_written(db, decision, field):
    request_id = signoff.open_request(db)
    before = signoff.counts(db)
    with pytest.raises(approvals.ApprovalInputError) as refused:
        signoff.decide(db, request_id, "U0REV1", decision, reason="no\x00way")
    assert refused.value.field == field and "U+0000" in refused.value.message
    assert signoff.new_rows(db, before) == {}


def test_a_break_glass_reason_with_a_nul_is_refused(db):
    request_id = signoff.open_request(db, "hotfix", requester="U0DEV")
    before = signoff.counts(db)
    with pytest.raises(approvals.ApprovalInputError) as refused:
        signoff.decide(db, request_id, "U0DEV", "approve", break_glass_reason="now\x00")
    assert refused.value.field == "break_glass_reason"
    assert signoff.new_rows(db, before) == {}


@pytest.mark.parametrize("field", ["title", "description", "affected"])
def test_an_incident_with_a_nul_is_refused_and_nothing_written(db, field):
    extra = {field: "leak\x00ed"} if field != "title" else {}
    with pytest.raises(escalation.IncidentInputError) as refused:
        incidents.open_incident(db, **({"title": "leak\x00ed"} if field == "title" else extra))
    assert refused.value.field == field and "U+0000" in refused.value.message
    assert incidents.audit_rows(db) == []


def test_an_incident_update_with_a_nul_is_refused(db):
    incident_id = incidents.open_incident(db)
    before = len(incidents.audit_rows(db, incident_id))
    with db.session() as s, pytest.raises(escalation.IncidentInputError) as refused:
        escalation.post_update(s, incident_id=incident_id, user=incidents.REPORTER, text="all\x00good",
                               now=incidents.T0)
    assert refused.value.field == "text"
    assert len(incidents.audit_rows(db, incident_id)) == before


@pytest.mark.parametrize("kind,field", [("usecase", "title"), ("usecase", "description"), ("usecase", "models"),
                                        ("vendor", "name"), ("vendor", "website"), ("vendor", "provides")])
def test_a_record_with_a_nul_in_any_text_field_is_refused_and_nothing_written(db, kind, field):
    before = records.counts(db)
    value = "https://x.example/\x00" if field == "website" else (
        "OpenAI / gpt\x00 / 1 / cloud" if field == "models" else "bad\x00value")
    with pytest.raises(registry.RegistryInputError) as refused:
        (records.new_usecase if kind == "usecase" else records.new_vendor)(db, **{field: value})
    assert "U+0000" in refused.value.errors[field]
    assert records.counts(db) == before

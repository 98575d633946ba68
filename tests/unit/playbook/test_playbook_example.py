import hashlib
from datetime import date, timedelta

from services.playbook import ApprovalRule, AudienceRules, Playbook, load_playbook, load_playbook_text


def test_the_example_validates(example_path):
    loaded = load_playbook(example_path)
    pb = loaded.playbook
    assert loaded.version == 1
    assert loaded.path == example_path
    assert loaded.content_hash == hashlib.sha256(example_path.read_bytes()).hexdigest()
    assert {"code", "copy", "launch"} <= set(pb.approvals)
    assert isinstance(pb.approvals["copy"], AudienceRules)
    assert isinstance(pb.approvals["code"], ApprovalRule)
    assert 3 <= len(pb.off_limits) <= 5
    assert set(pb.escalation.severities) == {"sev1", "sev2", "sev3"}
    assert len(pb.escalation.rotations) == 2


def test_the_example_covers_the_launch_rules_the_issue_asks_for(example_path):
    pb = load_playbook(example_path).playbook
    external = pb.approval_rule("launch", "external")
    assert external.checklist_ids == ("privacy-review", "security-review", "prompt-injection-tested", "opt-in-consent", "docs-updated")
    assert external.high_assurance is True
    assert pb.approval_rule("launch", "internal").high_assurance is False
    assert pb.escalation.severities["sev1"].incident_channel is True
    assert pb.escalation.severities["sev1"].update_every == timedelta(minutes=30)
    assert pb.documentation.revisit_after("usecase", "high") == timedelta(days=30)
    assert pb.documentation.revisit_after("usecase", "limited") == timedelta(days=90)
    assert pb.documentation.revisit_after("vendor", None) == timedelta(days=180)
    assert pb.escalation.rotations["ai-primary"].start == date(2024, 1, 1)


def test_hash_changes_with_any_byte_and_text_loading_matches_file(example_path):
    text = example_path.read_text(encoding="utf-8")
    same = load_playbook_text(text, "playbook.example.yaml")
    edited = load_playbook_text(text + "\n# a comment\n")
    assert same.content_hash == load_playbook(example_path).content_hash
    assert edited.content_hash != same.content_hash
    assert edited.playbook == same.playbook


def test_json_dump_validates_back_to_the_same_playbook(example_path):
    pb = load_playbook(example_path).playbook
    dumped = pb.model_dump(mode="json")
    assert dumped["escalation"]["policies"]["critical"]["steps"][0] == {"notify": "rotation:ai-primary", "wait": "5m"}
    assert dumped["escalation"]["rotations"]["ai-primary"]["handoff"] == "mon 09:00"
    assert Playbook.model_validate(dumped) == pb


def test_a_minimal_playbook_needs_little():
    pb = load_playbook_text("version: 1\ntimezone: UTC\nadmins: [U01A]\nchannels: {governance: C01G}\n").playbook
    assert pb.approvals == {}
    assert pb.documentation.usecase_revisit == timedelta(days=90)
    assert pb.documentation.vendor_revisit == timedelta(days=180)
    assert pb.documentation.stale_grace == timedelta(days=14)
    assert pb.digest_channel() == "C01G"


def test_loaded_playbook_is_frozen(example_path):
    pb = load_playbook(example_path).playbook
    try:
        pb.timezone = "UTC"
    except Exception as error:  # pydantic raises ValidationError for frozen instances
        assert "frozen" in str(error)
    else:
        raise AssertionError("a playbook must be immutable")


def test_json_schema_is_available_for_editors():
    schema = Playbook.model_json_schema()
    assert schema["additionalProperties"] is False
    assert "version" in schema["required"]

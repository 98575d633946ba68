"""`countersign registry export`, the documented command, on a seeded database."""

import csv
import io
import json
from datetime import UTC, datetime

from services import registry
from services.playbook import load_playbook
from tests.e2e.registry_support import PLAYBOOK
from tests.harness.server import bot_env, run_cli

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWNER = registry.Authority("U0OWN")


def seed(db):
    pb = load_playbook(PLAYBOOK).playbook
    with db.session() as s:
        vendor = registry.create(s, "vendor", {
            "name": "OpenAI", "provides": "LLM API, \"chat\" and embeddings", "trains_on_our_data": "no",
            "deployment": "cloud", "injection_tested": "partial", "risk_level": "high",
            "review_status": "in_review", "assignee": "U0OWN", "reviewer": "U0REV"}, authority=OWNER, now=NOW,
            playbook=pb)
        registry.create(s, "usecase", {
            "title": "Support drafts", "description": "Line one\nline two, with a comma", "owner": "U0OWN",
            "contributors": ["U0HELP"], "audience": "external", "purpose": "Speed", "risk_tier": "high",
            "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud", "vendors": [vendor.id]},
            authority=OWNER, now=NOW, playbook=pb)


def export(database_url, tmp_path, *args):
    env = bot_env(database_url=database_url, slack_api_url="http://127.0.0.1:9/api/")
    return run_cli(["registry", "export", *args], env, tmp_path)


def test_json_export_holds_every_field_of_both_record_types(db, database_url, tmp_path):
    seed(db)
    result = export(database_url, tmp_path, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (use_case,), (vendor,) = data["use_cases"], data["vendors"]
    assert use_case["ref"] == "UC-1" and use_case["vendors"] == [1] and use_case["contributors"] == ["U0HELP"]
    assert use_case["models"] == [{"provider": "OpenAI", "model": "gpt-4o", "version": "2024-08-06",
                                   "hosting": "vendor cloud"}]
    assert use_case["next_review_at"] == "2026-03-12T09:00:00+00:00"  # high risk: 10 days
    assert vendor["use_cases"] == [1] and vendor["injection_tested"] == "partial"
    every_field = {spec.name for spec in registry.fields.USECASE_FIELDS} - {"next_review"}
    assert every_field <= set(use_case)


def test_csv_export_is_one_record_type_per_file_and_round_trips(db, database_url, tmp_path):
    seed(db)
    out = tmp_path / "usecases.csv"
    result = export(database_url, tmp_path, "--format", "csv", "--records", "usecases", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 1 records" in result.stderr
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert row["description"] == "Line one\nline two, with a comma"
    assert json.loads(row["models"])[0]["model"] == "gpt-4o"
    assert json.loads(row["vendors"]) == [1]


def test_csv_without_a_record_type_is_refused_with_the_fix(db, database_url, tmp_path):
    result = export(database_url, tmp_path, "--format", "csv")
    assert result.returncode == 2
    assert "add --records usecases or --records vendors" in result.stderr

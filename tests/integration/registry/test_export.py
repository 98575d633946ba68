"""The auditors' export: every record, every column, read back exactly as written."""

import csv
import io
import json

from registry_world import (
    ASSIGNEE,
    DAY,
    HELPER,
    OWNER,
    REVIEWER,
    T0,
    edit,
    new_usecase,
    new_vendor,
    review,
)
from sqlalchemy import event

from services.registry import export

MODELS = "OpenAI / gpt-4o / 2024-08-06 / vendor cloud\nMeta / Llama 3"
PARSED_MODELS = [{"provider": "OpenAI", "model": "gpt-4o", "version": "2024-08-06", "hosting": "vendor cloud"},
                 {"provider": "Meta", "model": "Llama 3", "version": "", "hosting": ""}]


def seed(db):
    v1 = new_vendor(db, name="Café “AI”, Inc.", website="https://cafe.example")
    v2 = new_vendor(db, name="Plain")
    uc = new_usecase(db, title="Support, with commas\nand lines", contributors=[HELPER], models=MODELS,
                     vendors=[v2, v1], risk_tier="high")
    review(db, "usecase", uc, by=OWNER, now=T0 + DAY)
    return uc, v1, v2


def test_json_holds_every_column_of_every_record(db):
    uc, v1, v2 = seed(db)
    out = io.StringIO()
    with db.session() as s:
        count = export.write_json(s, out, export.KINDS["all"], generated_at=T0 + 2 * DAY)
    data = json.loads(out.getvalue())
    assert count == 3
    assert data["generated_at"] == (T0 + 2 * DAY).isoformat()
    (row,) = data["use_cases"]
    assert list(row) == export.columns("usecase")
    assert (row["ref"], row["id"], row["title"]) == (f"UC-{uc}", uc, "Support, with commas\nand lines")
    assert (row["contributors"], row["models"], row["vendors"]) == ([HELPER], PARSED_MODELS, [v1, v2])
    assert (row["status"], row["risk_tier"], row["snoozes"]) == ("proposed", "high", 0)
    assert (row["last_reviewed_at"], row["last_reviewed_by"]) == ((T0 + DAY).isoformat(), OWNER)
    assert row["next_review_at"] == (T0 + 31 * DAY).isoformat()
    assert row["created_at"] == T0.isoformat()
    assert [(v["ref"], v["name"], v["use_cases"]) for v in data["vendors"]] == [
        (f"V-{v1}", "Café “AI”, Inc.", [uc]), (f"V-{v2}", "Plain", [uc])]
    assert list(data["vendors"][0]) == export.columns("vendor")
    assert (data["vendors"][0]["assignee"], data["vendors"][0]["reviewer"]) == (ASSIGNEE, REVIEWER)
    assert "Café “AI”" in out.getvalue()  # written as text, not \u escapes


def test_json_of_one_kind_only(db):
    seed(db)
    out = io.StringIO()
    with db.session() as s:
        assert export.write_json(s, out, export.KINDS["vendors"], generated_at=T0) == 2
    assert sorted(json.loads(out.getvalue())) == ["generated_at", "vendors"]


def test_csv_round_trips_with_lists_as_json_cells(db):
    uc, v1, v2 = seed(db)
    out = io.StringIO()
    with db.session() as s:
        assert export.write_csv(s, out, "usecase") == 1
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    assert reader.fieldnames == export.columns("usecase")
    (row,) = list(reader)
    assert row["title"] == "Support, with commas\nand lines"
    assert json.loads(row["models"]) == PARSED_MODELS
    assert json.loads(row["vendors"]) == [v1, v2]
    assert json.loads(row["contributors"]) == [HELPER]
    assert (row["id"], row["snoozes"], row["next_review_at"]) == (str(uc), "0", (T0 + 31 * DAY).isoformat())


def test_csv_of_vendors_leaves_empty_cells_for_nothing(db):
    seed(db)
    out = io.StringIO()
    with db.session() as s:
        export.write_csv(s, out, "vendor")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["name"] for r in rows] == ["Café “AI”, Inc.", "Plain"]
    assert (rows[1]["website"], rows[1]["last_reviewed_at"], rows[1]["last_reviewed_by"]) == ("", "", "")


def test_rows_are_read_in_pages_and_come_out_whole_and_in_order(db):
    vendors = [new_vendor(db, name=f"V{i}") for i in range(3)]
    ids = [new_usecase(db, title=f"Use case {i}", vendors=vendors[: i % 4]) for i in range(8)]
    edit(db, "usecase", ids[4], {"title": "Renamed"}, by=OWNER)

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM use_case " in statement and "use_case_vendor" not in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.session() as s:
            got = list(export.rows(s, "usecase", batch=3))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert [r["id"] for r in got] == ids
    assert [r["vendors"] for r in got] == [sorted(vendors[: i % 4]) for i in range(8)]
    assert got[4]["title"] == "Renamed"
    assert len(statements) == 4  # three pages of at most three, and the empty one that ends it
    assert all("LIMIT" in statement for statement in statements)

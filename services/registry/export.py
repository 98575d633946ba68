"""The registry for auditors: every record with every field, as JSON or CSV rows.

Rows are read in pages of `batch` by id, so an export of any size holds one page in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlmodel import Session, col, select

from models.registry import USECASE, VENDOR, UseCaseVendor

from . import fields
from .lookup import LINK_FIELD, MODELS, ref

FORMATS = ("json", "csv")
META = ("ref", "id", "created_by", "created_at", "updated_at", "last_reviewed_at", "last_reviewed_by",
        "next_review_at", "snoozes")


def columns(kind: str) -> list[str]:
    names = [spec.name for spec in fields.FIELDS[kind] if spec.name != "next_review"]
    return [*META[:2], *names, *META[2:]]


def rows(session: Session, kind: str, *, batch: int = 500) -> Iterator[dict[str, Any]]:
    model = MODELS[kind]
    last = 0
    while True:
        page = session.exec(select(model).where(col(model.id) > last).order_by(model.id).limit(batch)).all()
        if not page:
            return
        links = _links(session, kind, [r.id for r in page])
        for record in page:
            row: dict[str, Any] = {"ref": ref(kind, record.id), "id": record.id}
            for name in columns(kind)[2:]:
                row[name] = links.get(record.id, []) if name == LINK_FIELD[kind] else getattr(record, name)
            yield {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
        last = page[-1].id


def _links(session: Session, kind: str, ids: list[int]) -> dict[int, list[int]]:
    own, other = ((UseCaseVendor.use_case_id, UseCaseVendor.vendor_id) if kind == USECASE
                  else (UseCaseVendor.vendor_id, UseCaseVendor.use_case_id))
    out: dict[int, list[int]] = {}
    for mine, theirs in session.exec(select(own, other).where(col(own).in_(ids)).order_by(own, other)).all():
        out.setdefault(mine, []).append(theirs)
    return out


def write_json(session: Session, out: TextIO, kinds: tuple[str, ...], *, generated_at: datetime) -> int:
    count = 0
    out.write('{"generated_at": ' + json.dumps(generated_at.isoformat()))
    for kind in kinds:
        out.write(f', "{"use_cases" if kind == USECASE else "vendors"}": [')
        for i, row in enumerate(rows(session, kind)):
            out.write((", " if i else "") + json.dumps(row, ensure_ascii=False))
            count += 1
        out.write("]")
    out.write("}\n")
    return count


def write_csv(session: Session, out: TextIO, kind: str) -> int:
    """One record type per CSV; lists (models, links, contributors) are JSON in their cell."""
    writer = csv.DictWriter(out, fieldnames=columns(kind), lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows(session, kind):
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                         for k, v in row.items()})
        count += 1
    return count


KINDS = {"usecases": (USECASE,), "vendors": (VENDOR,), "all": (USECASE, VENDOR)}

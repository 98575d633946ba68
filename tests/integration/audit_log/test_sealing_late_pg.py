"""An event committed after a later one (a lower id, committed late) is sealed in a later batch.
Only PostgreSQL lets two writers' transactions interleave so; SQLite takes one writer at a time."""

from __future__ import annotations

import pytest
from audit_world import T0, seal_all, verify, write
from sqlalchemy import select

from models.audit import AuditEvent
from services import audit

pytestmark = pytest.mark.postgres


def test_an_event_committed_late_with_a_lower_id_is_sealed_in_a_later_batch(pg_db):
    db = pg_db
    write(db, 3)
    with db.session() as late:
        audit.append(late, at=T0, actor="U1", action="late.one", entity_type="t", entity_id="1")
        late.flush()  # it has its id now, lower than the next writer's, but is not committed
        write(db, 2)
        seal_all(db)
        with db.session() as s:
            sealed_first = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)
                                          .where(AuditEvent.seq.is_not(None))))
    seal_all(db)
    with db.session() as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert "late.one" not in sealed_first and len(sealed_first) == 5
    assert [r.seq for r in rows] == list(range(6))
    late_row = rows[-1]
    assert late_row.action == "late.one" and any(r.id > late_row.id for r in rows)
    assert verify(db).ok

"""Finding records and the people who keep them (shared by every registry module)."""

from __future__ import annotations

from sqlmodel import Session, select

from models.registry import USECASE, VENDOR, UseCase, UseCaseVendor, Vendor

from .errors import UnknownRecord

MODELS: dict[str, type[UseCase | Vendor]] = {USECASE: UseCase, VENDOR: Vendor}
LINK_FIELD = {USECASE: "vendors", VENDOR: "use_cases"}
Record = UseCase | Vendor


def ref(kind: str, record_id: int | None) -> str:
    return f"{'UC' if kind == USECASE else 'V'}-{record_id}"


def get(session: Session, kind: str, record_id: int, *, lock: bool = False) -> Record:
    record = session.get(MODELS[kind], record_id, with_for_update=lock, populate_existing=lock)
    if record is None:
        raise UnknownRecord(kind, record_id)
    return record


def linked_ids(session: Session, kind: str, record_id: int) -> list[int]:
    if kind == USECASE:
        query = select(UseCaseVendor.vendor_id).where(UseCaseVendor.use_case_id == record_id)
    else:
        query = select(UseCaseVendor.use_case_id).where(UseCaseVendor.vendor_id == record_id)
    return sorted(session.exec(query).all())


def owners(kind: str, record: Record) -> list[str]:
    """Who keeps the record: may edit it and (use cases) mark it reviewed."""
    if kind == USECASE:
        return [record.owner, *record.contributors]
    return [u for u in (record.assignee, record.reviewer) if u]


def nudge_recipient(kind: str, record: Record) -> str:
    """Whose review is due: a use case's owner; a vendor's reviewer (who signs reviews off),
    or its assignee while no reviewer is named."""
    if kind == USECASE:
        return record.owner
    return record.reviewer or record.assignee

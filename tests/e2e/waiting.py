"""Waiting for the bot's asynchronous work to settle before asserting that nothing more happens."""

from sqlmodel import select

from models.outbox import PENDING, SENDING, OutboxMessage


def outbox_drained(db) -> bool:  # noqa: ANN001
    """True once every message the bot owed Slack so far has been delivered (or given up)."""
    with db.session() as s:
        return not s.exec(select(OutboxMessage).where(
            OutboxMessage.status.in_([PENDING, SENDING]))).all()

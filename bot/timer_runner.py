"""Fires durable timers (rows) through the handler registered for their kind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import metrics
from bot.clock import Clock
from bot.db import Database
from models.timer import Timer
from services import timers

log = logging.getLogger(__name__)

# A handler performs the timer's effect inside the transaction that marks it done.
TimerHandler = Callable[[Session, Timer, datetime], None]


class TimerRunner:
    def __init__(self, db: Database, clock: Clock, *, owner: str,
                 lease: timedelta = timedelta(minutes=2),
                 retry_after: timedelta = timedelta(seconds=30)) -> None:
        self.db = db
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.retry_after = retry_after
        self.handlers: dict[str, TimerHandler] = {}

    def register(self, kind: str, handler: TimerHandler) -> None:
        self.handlers[kind] = handler

    def sweep(self, limit: int = 100) -> int:
        """Fire every due timer; returns how many fired. Safe to run in several processes."""
        now = self.clock.now()
        with self.db.session() as s:
            claimed = timers.claim_due(s, now=now, owner=self.owner, lease=self.lease,
                                       limit=limit, kinds=list(self.handlers))
        fired = 0
        for timer in claimed:
            fired += self._fire(timer, now)
        return fired

    def _fire(self, timer: Timer, now: datetime) -> int:
        handler = self.handlers[timer.kind]
        try:
            with self.db.session() as s:
                # Mark done first: it takes the row lock, and if a cancel got there
                # first we must not perform the effect at all.
                if not timers.complete(s, timer.id, owner=self.owner, now=now):  # type: ignore[arg-type]
                    return 0
                handler(s, timer, now)
        except Exception as exc:
            log.exception("timer %s/%s failed; will retry", timer.kind, timer.ref)
            with self.db.session() as s:
                timers.release(s, timer.id, owner=self.owner,  # type: ignore[arg-type]
                               retry_at=now + self.retry_after, error=repr(exc))
            return 0
        metrics.TIMERS_FIRED.labels(timer.kind).inc()
        metrics.TIMER_LATENESS.observe(max(0.0, (now - timer.due_at).total_seconds()))
        return 1

    def next_due(self) -> datetime | None:
        with self.db.session() as s:
            return timers.next_due(s)

"""Delivers the outbox to Slack's Web API: paced per channel, retried, never doubled.

The client here has no in-call retry handlers on purpose: a blind retry of
chat.postMessage after a timeout or 5xx can post twice. Instead every failed
attempt is recorded and retried later from the row, and an attempt that may
have reached Slack first looks for the message by the outbox key we stamp into
its metadata before posting again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs, metrics
from bot.clock import Clock
from blocks.templates import TEMPLATES
from bot.db import Database
from bot.github_checks import CheckRuns
from bot.github_checks import Permanent as GitHubPermanent
from bot.github_checks import Retry as GitHubRetry
from bot.slack_answers import UnexpectedAnswer, error_code, field
from models.outbox import FAILED, OutboxMessage
from services import outbox

log = logging.getLogger(__name__)

METADATA_EVENT = "countersign_outbox"
# Slack-level errors worth another try; anything else ok=false is final.
CLOCK_SKEW_MARGIN = 300.0
# Errors that mean the call's effect already holds (an earlier attempt got through).
ALREADY_DONE = {"already_in_channel", "already_pinned", "already_reacted"}
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                    "request_timeout", "team_added_to_org"}


@dataclass(frozen=True)
class DispatchPolicy:
    channel_interval: float = 1.0
    retry_base: float = 2.0
    retry_cap: float = 300.0
    max_attempts: int = 10
    lease: float = 60.0
    batch: int = 50
    concurrency: int = 8


class _Retry(Exception):
    """`audited`: the reason as the audit log may keep it, when `reason` quotes an exception
    whose text could hold the message's content."""

    def __init__(self, reason: str, *, after: float | None, maybe_sent: bool,
                 audited: str | None = None) -> None:
        super().__init__(reason)
        self.after = after
        self.maybe_sent = maybe_sent
        self.audited = reason if audited is None else audited


class _Permanent(Exception):
    def __init__(self, reason: str, *, audited: str | None = None) -> None:
        super().__init__(reason)
        self.audited = reason if audited is None else audited


class _AlreadyDone(Exception):
    """Slack refused because the effect is already there: for us, delivered."""


class Dispatcher:
    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        clock: Clock,
        *,
        owner: str,
        policy: DispatchPolicy = DispatchPolicy(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        templates: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = TEMPLATES,
        github: CheckRuns | None = None,
        sink: str | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.owner = owner
        self.policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self.templates = templates
        self.github = github  # check runs owed to GitHub share the outbox and its retries
        self.sink = sink  # which calls this one delivers (outbox.SINKS); None: all of them
        self._last_post: dict[str, float] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, *, poll_interval: float, is_leader: Callable[[], bool]) -> None:
        failures = logs.RepeatedFailures(log, "outbox dispatch round")
        while True:
            # Cleared before the round, not after: a commit waking us while the round's last
            # claim found nothing must start another round, not wait for the poll.
            self._wake.clear()
            try:
                if is_leader():
                    while await self.run_once():
                        pass
            except Exception as exc:  # a database outage must not kill delivery for good
                failures.failed(exc)
            else:
                failures.succeeded()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=poll_interval)
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        """Claim what is due and deliver it. Returns how many messages were handled."""
        now = self.clock.now()
        lease = timedelta(seconds=self.policy.lease)

        def claim() -> list[OutboxMessage]:
            with self.db.session() as s:
                return outbox.claim_due(s, now=now, owner=self.owner, lease=lease,
                                        limit=self.policy.batch, sink=self.sink)

        claimed = await self.db.run(claim)
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def one(msg: OutboxMessage) -> None:
            async with gate:
                try:
                    await self._deliver(msg)
                except Exception as exc:  # one bad message must not stop the others
                    log.exception("delivering outbox %s failed unexpectedly", msg.key)
                    await self._record_retry(msg, _Retry(f"{type(exc).__name__}: {exc}",
                                                         after=None, maybe_sent=True,
                                                         audited=type(exc).__name__))

        await asyncio.gather(*(one(m) for m in claimed))
        return len(claimed)

    async def _pace(self, channel: str | None) -> None:
        if not channel or self.policy.channel_interval <= 0:
            return
        last = self._last_post.get(channel)
        if last is not None:
            wait = last + self.policy.channel_interval - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
        self._last_post[channel] = self._monotonic()

    async def _deliver(self, msg: OutboxMessage) -> None:
        assert msg.id is not None
        if msg.method.startswith(outbox.GITHUB_PREFIX):
            await self._deliver_to_github(msg)
            return
        try:
            args = await self.db.run(self._resolve_args, msg)
            found = None
            if msg.maybe_sent and msg.method == "chat.postMessage":
                found = await self._find_posted(msg, args)
            if found is not None:
                metrics.OUTBOX_RECONCILED.inc()
                log.info("outbox %s was already posted (ts %s); not posting again",
                         msg.key, found["ts"])
                await self._record_sent(msg, found)
                return
            await self._pace(args.get("channel"))
            try:
                response = await self._call(msg.method, args)
            except _AlreadyDone as done:
                log.info("outbox %s (%s): %s, so it is done", msg.key, msg.method, done)
                response = {"ok": True, "already": str(done)}
            if msg.method == "chat.postMessage" and not isinstance(response.get("ts"), str):
                # Posted, but replies and updates need its ts: the next attempt finds it by key.
                raise _Retry("chat.postMessage answered ok without a ts", after=None, maybe_sent=True)
            await self._record_sent(msg, response)
        except _Permanent as exc:
            await self._record_failed(msg, str(exc), exc.audited)
        except _Retry as exc:
            await self._record_retry(msg, exc)

    async def _deliver_to_github(self, msg: OutboxMessage) -> None:
        if self.github is None:
            # Owed before the App's settings were removed: kept until they are back.
            await self._record_retry(msg, _Retry("the GitHub App is not configured", after=300.0,
                                                 maybe_sent=False))
            return

        def parents() -> tuple[int | None, tuple[str, str] | None, bool]:
            with self.db.session() as s:
                run = outbox.parent_result(s, msg.update_of)
                post = outbox.parent_result(s, msg.thread_of)
            run_id = (run.result or {}).get("id") if run is not None else None
            slack_post = (post.result_channel, post.result_ts) \
                if post is not None and post.result_channel and post.result_ts else None
            return run_id, slack_post, msg.update_of is not None and run_id is None

        try:
            run_id, slack_post, orphan = await self.db.run(parents)
            if orphan:
                raise _Permanent(f"depends on outbox message {msg.update_of}, which was not delivered")
            try:
                result = await self.github.deliver(msg.method, msg.payload, maybe_sent=msg.maybe_sent,
                                                   run_id=run_id, slack_post=slack_post)
            except GitHubRetry as exc:
                raise _Retry(exc.reason, after=exc.after, maybe_sent=exc.maybe_sent) from exc
            except GitHubPermanent as exc:
                raise _Permanent(exc.reason) from exc
            await self._record_sent(msg, {}, kept=result)
        except _Permanent as exc:
            await self._record_failed(msg, str(exc), exc.audited)
        except _Retry as exc:
            await self._record_retry(msg, exc)

    async def permalink(self, channel: str, ts: str) -> str | None:
        """The Slack link of a message (a check run's details link), or None if Slack cannot
        say now: the run is still worth sending without it."""
        try:
            answer = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
            link = answer.get("permalink")
            return link if isinstance(link, str) and link.startswith("https://") else None
        except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def _resolve_args(self, msg: OutboxMessage) -> dict[str, Any]:
        if msg.template is not None:
            render = self.templates.get(msg.template)
            if render is None:
                raise _Permanent(f"no template named {msg.template}")
            try:
                args = render(msg.payload)
            except Exception as exc:
                # Rendering is deterministic: retrying the same data fails the same way.
                log.exception("template %s cannot render outbox %s", msg.template, msg.key)
                raise _Permanent(f"template {msg.template} failed: {exc}",
                                 audited=f"template {msg.template} failed: {type(exc).__name__}") from exc
        else:
            args = dict(msg.payload)
        if msg.channel and "channel" not in args:
            args["channel"] = msg.channel
        with self.db.session() as s:
            for key, field in ((msg.thread_of, "thread_ts"), (msg.update_of, "ts")):
                parent = outbox.parent_result(s, key)
                if key is None:
                    continue
                if parent is None or parent.status == FAILED or not parent.result_ts:
                    raise _Permanent(f"depends on outbox message {key}, which was not delivered")
                args[field] = parent.result_ts
                args["channel"] = parent.result_channel or args.get("channel")
        if msg.method == "chat.postMessage" and "metadata" not in args:
            args["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"key": msg.key}}
        return args

    async def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.client.api_call(method, json=args)
            return dict(response.data) if isinstance(response.data, dict) else {}
        except SlackApiError as exc:
            raise self._classify(exc) from exc  # _Retry, _Permanent or _AlreadyDone
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}", after=None, maybe_sent=True) from exc

    @staticmethod
    def _classify(exc: SlackApiError) -> Exception:
        status = exc.response.status_code
        error = error_code(exc)  # whatever the answer holds, a string or None
        if status == 429 or error == "ratelimited":
            headers = exc.response.headers or {}
            retry_after = headers.get("Retry-After") or headers.get("retry-after")
            # A 429 is Slack saying it did not process the call.
            return _Retry("ratelimited", after=_seconds(retry_after), maybe_sent=False)
        if status >= 500:
            return _Retry(f"HTTP {status}", after=None, maybe_sent=True)
        if error in TRANSIENT_ERRORS:
            return _Retry(str(error), after=None, maybe_sent=True)
        if error in ALREADY_DONE:
            return _AlreadyDone(str(error))
        return _Permanent(str(error or f"HTTP {status}"))

    async def _find_posted(self, msg: OutboxMessage, args: dict[str, Any]) -> dict | None:
        """Look for a message stamped with this outbox key since the attempt began."""
        channel = args.get("channel")
        if not channel or msg.attempt_started_at is None:
            return None
        try:
            if channel.startswith(("U", "W")):
                opened = await self.client.conversations_open(users=channel)
                channel = field(opened, "conversations.open", "channel", "id")
            # No attempt began before the row was created; the margin absorbs clock skew
            # between this host and Slack.
            oldest = f"{msg.created_at.timestamp() - CLOCK_SKEW_MARGIN:.6f}"
            if args.get("thread_ts"):
                page = await self.client.conversations_replies(
                    channel=channel, ts=args["thread_ts"], oldest=oldest,
                    include_all_metadata=True, limit=200)
            else:
                page = await self.client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200)
            messages = field(page, "conversations.replies" if args.get("thread_ts")
                             else "conversations.history", "messages", kind=list)
        except UnexpectedAnswer as exc:
            # Slack answered, just not as documented: asking again would get the same answer.
            log.warning("could not check whether outbox %s was posted: %s", msg.key, exc)
            return None
        except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            verdict = self._classify(exc) if isinstance(exc, SlackApiError) else _Retry(
                f"{type(exc).__name__}: {exc}", after=None, maybe_sent=True)
            if isinstance(verdict, _Retry) and msg.attempts < self.policy.max_attempts:
                # Slack is failing right now, and it may well have taken the earlier attempt:
                # posting blind would double the message; look again on the next attempt.
                raise _Retry(f"could not check whether it was posted: {verdict}",
                             after=verdict.after, maybe_sent=True) from exc
            # We can never tell (no history scope, channel gone) or this is the last try:
            # posting again is the lesser harm than never.
            log.warning("could not check whether outbox %s was posted: %s", msg.key, exc)
            return None
        for message in messages:
            meta = message.get("metadata") if isinstance(message, dict) else None
            stamped = meta.get("event_payload") if isinstance(meta, dict) else None
            if (isinstance(stamped, dict) and meta.get("event_type") == METADATA_EVENT
                    and stamped.get("key") == msg.key and isinstance(message.get("ts"), str)):
                return {"ok": True, "channel": channel, "ts": message["ts"]}
        return None

    async def _record_sent(self, msg: OutboxMessage, response: dict[str, Any],
                           kept: dict[str, Any] | None = None) -> None:
        now = self.clock.now()
        channel = response.get("channel")
        if isinstance(channel, dict):  # conversations.* answer with the whole channel
            channel = channel.get("id")
        if not (isinstance(channel, str) and channel):
            view = response.get("view")
            channel = view.get("id") if isinstance(view, dict) else None
        ts = response.get("ts") or response.get("message_ts")
        channel = channel if isinstance(channel, str) else None
        ts = ts if isinstance(ts, str) else None
        if kept is None:
            kept = {k: v for k, v in response.items() if k in ("channel", "ts", "view", "message_ts")}

        def record() -> None:
            with self.db.session() as s:
                outbox.mark_sent(s, msg.id, owner=self.owner, now=now,  # type: ignore[arg-type]
                                 channel=channel, ts=ts, result=kept)

        await self.db.run(record)
        metrics.OUTBOX_DELIVERED.labels(msg.method).inc()
        metrics.OUTBOX_LAG.observe(max(0.0, (now - msg.created_at).total_seconds()))

    async def _record_retry(self, msg: OutboxMessage, exc: _Retry) -> None:
        now = self.clock.now()
        if msg.attempts >= self.policy.max_attempts:
            gave_up = f"gave up after {msg.attempts} attempts: "
            await self._record_failed(msg, gave_up + str(exc), gave_up + exc.audited)
            return
        delay = outbox.backoff(msg.attempts, base=self.policy.retry_base, cap=self.policy.retry_cap)
        if exc.after is not None:
            delay = max(delay, timedelta(seconds=exc.after))
        log.warning("outbox %s (%s) attempt %d failed: %s; retrying in %.1fs",
                    msg.key, msg.method, msg.attempts, exc, delay.total_seconds())

        def record() -> None:
            with self.db.session() as s:
                outbox.mark_retry(s, msg.id, owner=self.owner, at=now + delay,  # type: ignore[arg-type]
                                  error=str(exc), maybe_sent=msg.maybe_sent or exc.maybe_sent)

        await self.db.run(record)
        metrics.OUTBOX_RETRIED.labels(str(exc).split(":")[0][:40]).inc()

    async def _record_failed(self, msg: OutboxMessage, error: str, audited: str | None = None) -> None:
        now = self.clock.now()
        log.error("outbox %s (%s) failed for good: %s", msg.key, msg.method, error)

        def record() -> None:
            with self.db.session() as s:
                outbox.mark_failed(s, msg.id, owner=self.owner, now=now,  # type: ignore[arg-type]
                                   error=error, audited_error=audited)

        await self.db.run(record)
        metrics.OUTBOX_FAILED.labels(msg.method).inc()


def _seconds(header: str | None) -> float | None:
    """A Retry-After of seconds; None when absent or not a sane number of them."""
    try:
        seconds = float(header) if header else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 86400 else None

"""The clock's work on kept GitHub deliveries: read what the event needs from GitHub, then
one transaction does the sign-off work and settles the delivery (so nothing is done twice).

GitHub failing (5xx, rate limits, timeouts) puts a delivery back with back-off, as often as
the outbox would retry a message; a payload that cannot mean anything fails it at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from githubkit.exception import GitHubException, RateLimitExceeded, RequestFailed
from pydantic import ValidationError

from bot import metrics
from bot.github_client import GitHubApp, unwrapped
from bot.github_payloads import CheckRunEvent, PullRequestEvent, pull_request_of
from models.github import GitHubDelivery
from services import outbox
from services.approvals import ApprovalInputError, PolicyRefusal
from services.pull_requests import checks, deliveries, flow

log = logging.getLogger("countersign.github")

JOB = "github-intake"


@dataclass(frozen=True)
class IntakePolicy:
    lease: float = 120.0
    retry_base: float = 2.0
    retry_cap: float = 300.0
    max_attempts: int = 10
    # Claimed a few at a time and worked one by one: a burst is shared between clocks, and
    # a claim is never held long behind another delivery's calls to GitHub.
    batch: int = 2


class _Skip(Exception):
    """Nothing to do for this delivery: settled done with this outcome."""


class _Bad(Exception):
    """The delivery cannot be worked on, ever: settled failed."""


class _Lost(Exception):
    """Our claim on the delivery ran out while we worked: another holds it now."""


class GitHubIntake:
    def __init__(self, services: Any, app: GitHubApp, *, owner: str,
                 policy: IntakePolicy = IntakePolicy()) -> None:
        self.services = services
        self.app = app
        self.owner = owner
        self.policy = policy

    async def __call__(self) -> int:
        worked = 0
        while True:
            now = self.services.clock.now()

            def claim() -> list[GitHubDelivery]:
                with self.services.db.session() as s:
                    return deliveries.claim_due(s, now=now, owner=self.owner, limit=self.policy.batch,
                                                lease=timedelta(seconds=self.policy.lease))

            claimed = await self.services.db.run(claim)
            for delivery in claimed:
                await self._work(delivery)
            worked += len(claimed)
            if len(claimed) < self.policy.batch:
                return worked

    async def _work(self, delivery: GitHubDelivery) -> None:
        installation = 0  # until the payload is read: no token of ours to forget
        try:
            event = self._parse(delivery)
            installation = event.installation.id
            try:
                ask = await self._read(event)
            except GitHubException as exc:
                raise unwrapped(exc) from exc
            await self.services.db.run(self._apply, delivery, ask)
        except _Skip as skip:
            await self._settle(delivery, outcome=str(skip))
        except _Bad as bad:
            log.warning("GitHub delivery %s cannot be worked on: %s", delivery.delivery_id, bad)
            await self._settle(delivery, error=str(bad))
        except (ApprovalInputError, PolicyRefusal) as refusal:
            # The playbook cannot take this request (say, its kind is gone): retrying will not help.
            log.warning("GitHub delivery %s: the playbook refused the request: %s",
                        delivery.delivery_id, refusal)
            await self._settle(delivery, error=f"refused: {refusal}")
        except _Lost:
            log.warning("GitHub delivery %s: its lease ran out while worked on; another took it",
                        delivery.delivery_id)
        except RequestFailed as exc:
            self.app.refused(installation, exc)
            if exc.response.status_code in (404, 410, 422):
                # The pull request or repository is gone, or the App may no longer see it.
                await self._settle(delivery, error=_reason(exc))
            else:
                await self._later(delivery, exc)
        except (GitHubException, httpx.HTTPError, OSError) as exc:
            await self._later(delivery, exc)
        except Exception as exc:  # a defect of ours: one delivery must not stop the others
            log.exception("GitHub delivery %s failed unexpectedly", delivery.delivery_id)
            await self._later(delivery, exc)

    @staticmethod
    def _parse(delivery: GitHubDelivery) -> PullRequestEvent | CheckRunEvent:
        model = PullRequestEvent if delivery.event == "pull_request" else CheckRunEvent
        try:
            return model.model_validate_json(delivery.body or "null")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the payload"
            raise _Bad(f"not a {delivery.event} payload GitHub sends: {where}: {first['msg']}") from None

    async def _read(self, event: PullRequestEvent | CheckRunEvent) -> dict[str, Any]:
        """What the flow needs: the pull request, its commits, who declared it."""
        installation = event.installation.id
        repository = event.repository.full_name
        if isinstance(event, PullRequestEvent):
            pr = pull_request_of(event.pull_request, repository)
            action, declared_by = event.action, None
        else:
            action, declared_by, number = self._check_run(event)
            pr = await self.app.pull_request(installation, repository, number)
        commits = [] if action == "closed" else await self.app.commits(installation, repository, pr.number)
        members: dict[str, list[str]] = {}
        pb = self.services.playbook.current.playbook
        if pb.github is not None and pb.github.kind in pb.approvals:
            members = (await self.services.directory.resolve(pb)).members
        return {"action": action, "pr": pr, "commits": commits, "installation": installation,
                "declared_by": declared_by, "members": members}

    def _check_run(self, event: CheckRunEvent) -> tuple[str, str | None, int]:
        run = event.check_run
        if run.app is None or run.app.id != self.app.app_id:
            raise _Skip("another app's check run")
        if run.name != checks.NAME:
            raise _Skip(f"not the {checks.NAME} check")
        if event.action == "requested_action":
            identifier = event.requested_action.identifier if event.requested_action else None
            if identifier != checks.REQUEST_ACTION:
                raise _Skip(f"unknown action {str(identifier)[:40]}")
            action, declared_by = "requested", event.sender.login
        elif event.action == "rerequested":
            action, declared_by = "rerequested", None
        else:
            raise _Skip(f"check_run {event.action}")
        pulls = [p.number for p in run.pull_requests]
        if not pulls:
            raise _Skip("the check run belongs to no pull request of this repository")
        return action, declared_by, pulls[0]

    def _apply(self, delivery: GitHubDelivery, ask: dict[str, Any]) -> None:
        now = self.services.clock.now()
        with self.services.db.session() as s:
            outcome = flow.pull_request_changed(
                s, playbook=self.services.playbook.current, action=ask["action"], pr=ask["pr"],
                installation_id=ask["installation"], commits=ask["commits"], now=now,
                group_members=ask["members"], declared_by=ask["declared_by"])
            if not deliveries.done(s, delivery.delivery_id, owner=self.owner, outcome=outcome.result):
                # Our lease ran out and someone else has it: undo ours, theirs stands.
                raise _Lost()
        metrics.GITHUB_DELIVERIES.labels("done").inc()
        log.info("GitHub delivery %s (%s.%s): %s", delivery.delivery_id, delivery.event,
                 delivery.action, outcome.result)

    async def _settle(self, delivery: GitHubDelivery, *, outcome: str | None = None,
                      error: str | None = None) -> None:
        metrics.GITHUB_DELIVERIES.labels("skipped" if error is None else "failed").inc()

        def settle() -> None:
            with self.services.db.session() as s:
                if error is None:
                    deliveries.done(s, delivery.delivery_id, owner=self.owner, outcome=outcome or "")
                else:
                    deliveries.failed(s, delivery.delivery_id, owner=self.owner, error=error)
        await self.services.db.run(settle)

    async def _later(self, delivery: GitHubDelivery, exc: Exception) -> None:
        reason = _reason(exc)
        if delivery.attempts >= self.policy.max_attempts:
            log.error("GitHub delivery %s given up after %d attempts: %s", delivery.delivery_id,
                      delivery.attempts, reason)
            await self._settle(delivery, error=f"gave up after {delivery.attempts} attempts: {reason}")
            return
        metrics.GITHUB_DELIVERIES.labels("retried").inc()
        delay = outbox.backoff(delivery.attempts, base=self.policy.retry_base, cap=self.policy.retry_cap)
        if isinstance(exc, RateLimitExceeded):
            delay = max(delay, exc.retry_after)
        log.warning("GitHub delivery %s: %s; again in %.1fs", delivery.delivery_id, reason,
                    delay.total_seconds())
        at = self.services.clock.now() + delay

        def put_back() -> None:
            with self.services.db.session() as s:
                deliveries.retry(s, delivery.delivery_id, owner=self.owner, at=at, error=reason)
        await self.services.db.run(put_back)


def _reason(exc: Exception) -> str:
    if isinstance(exc, RequestFailed):
        return f"GitHub answered HTTP {exc.response.status_code}"
    if isinstance(exc, (GitHubException, httpx.HTTPError, OSError)):
        return f"GitHub unreachable: {type(exc).__name__}"
    return f"unexpected {type(exc).__name__}"

"""Delivers the outbox's check-run rows to GitHub: the data services/pull_requests/checks.py
wrote, rendered as the Checks API's request bodies, retried like any outbox row.

A create that may have reached GitHub (a timeout, a 5xx, a crash) first looks for the run by
the external id we stamp on it, so a commit never gets two runs of ours. Secondary rate limits
(403/429 with retry-after or x-ratelimit-reset, which githubkit reads) wait as long as GitHub
asks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError
from githubkit.exception import GitHubException, RateLimitExceeded, RequestFailed

from bot.github_client import GitHubApp, unwrapped
from services.pull_requests import checks

# The Checks API's limits on what a run shows.
TITLE_MAX = 255
SUMMARY_MAX = 65535
TEXT_MAX = 65535
ACTION = {"label": "Request sign-off", "description": "Ask a person to sign off this change",
          "identifier": checks.REQUEST_ACTION}


@dataclass(frozen=True)
class Retry(Exception):
    reason: str
    after: float | None
    maybe_sent: bool


@dataclass(frozen=True)
class Permanent(Exception):
    reason: str


def body(payload: dict[str, Any], *, details_url: str | None, now: datetime,
         create: bool) -> dict[str, Any]:
    state = payload["state"]
    output: dict[str, Any] = {"title": state["title"][:TITLE_MAX], "summary": state["summary"][:SUMMARY_MAX]}
    if state.get("text"):
        output["text"] = state["text"][:TEXT_MAX]
    data: dict[str, Any] = {"status": state["status"], "output": output,
                            "actions": [ACTION] if payload.get("offer_request") else []}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if state["status"] == "completed":
        data["conclusion"] = state["conclusion"]
        data["completed_at"] = stamp
    if details_url:
        data["details_url"] = details_url
    if create:
        data.update(name=payload["name"], head_sha=payload["head_sha"],
                    external_id=payload["external_id"], started_at=stamp)
    return data


class CheckRuns:
    def __init__(self, app: GitHubApp, *, now: Callable[[], datetime],
                 permalink: Callable[[str, str], Awaitable[str | None]]) -> None:
        self.app = app
        self.now = now
        self.permalink = permalink  # (channel, ts) of the request's Slack post → its link

    async def deliver(self, method: str, payload: dict[str, Any], *, maybe_sent: bool,
                      run_id: int | None, slack_post: tuple[str, str] | None) -> dict[str, Any]:
        """GitHub's id for the run, as the outbox keeps it for later updates."""
        details_url = await self.permalink(*slack_post) if slack_post else None
        owner, repo, installation = payload["owner"], payload["repo"], payload["installation_id"]
        try:
            if method == checks.CREATE:
                if maybe_sent:
                    found = await self.app.find_check(installation, owner, repo, payload["head_sha"],
                                                      name=payload["name"], external_id=payload["external_id"])
                    if found is not None:
                        return {"id": found, "found": True}
                data = body(payload, details_url=details_url, now=self.now(), create=True)
                return {"id": await self.app.create_check(installation, owner, repo, data)}
            if method == checks.UPDATE:
                if run_id is None:
                    raise Permanent("the check run it updates was never created")
                if payload["state"] is None:  # only the link to the Slack thread
                    if details_url is None:
                        return {"id": run_id, "linked": False}
                    return {"id": await self.app.update_check(installation, owner, repo, run_id,
                                                              {"details_url": details_url})}
                data = body(payload, details_url=details_url, now=self.now(), create=False)
                return {"id": await self.app.update_check(installation, owner, repo, run_id, data)}
        except GitHubException as exc:
            failure = unwrapped(exc)
            if isinstance(failure, RequestFailed):
                self.app.refused(installation, failure)
                raise self._verdict(failure) from exc
            raise Retry(f"GitHub unreachable: {type(failure).__name__}", after=None,
                        maybe_sent=True) from exc
        except (httpx.HTTPError, OSError) as exc:
            raise Retry(f"GitHub unreachable: {type(exc).__name__}", after=None, maybe_sent=True) from exc
        except ValidationError as exc:  # githubkit checks our body before sending it
            raise Permanent(f"the check run body is not what GitHub takes: {exc.errors()[0]['msg']}") from exc
        except ValueError as exc:  # an answer without the run's id: it may exist; look first
            raise Retry(str(exc), after=None, maybe_sent=True) from exc
        raise Permanent(f"no GitHub method {method}")

    @staticmethod
    def _verdict(exc: RequestFailed) -> Exception:
        if isinstance(exc, RateLimitExceeded):
            return Retry(f"GitHub rate limit (HTTP {exc.response.status_code})",
                         after=exc.retry_after.total_seconds(), maybe_sent=False)
        status = exc.response.status_code
        if status >= 500:
            return Retry(f"GitHub HTTP {status}", after=None, maybe_sent=True)
        if status in (401, 403, 429):
            # A token revoked or expired early, or a limit without a header: try later.
            return Retry(f"GitHub HTTP {status}", after=None, maybe_sent=False)
        return Permanent(f"GitHub refused the call: HTTP {status}")

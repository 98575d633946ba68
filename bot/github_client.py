"""Countersign's GitHub App, through githubkit: the App's JWT, installation tokens (githubkit
caches each until a minute before it expires), and the few typed REST calls the flow needs.

No call here retries by itself: reads are retried by the delivery that needed them, writes by
the outbox row that owes them (bot/github_checks.py), each with back-off and a record.
"""

from __future__ import annotations

from typing import Any

from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestError, RequestFailed

from bot.github_payloads import COMMITS, Pull, pull_request_of
from bot.settings import Settings
from services.pull_requests.markers import Commit, PullRequest

# GitHub lists at most 250 commits of a pull request, 100 to a page.
_PAGE = 100
_PAGES = 3
USER_AGENT = "Countersign"


class GitHubApp:
    def __init__(self, *, app_id: int, private_key: str, base_url: str, timeout: float) -> None:
        self.app_id = app_id
        self._key = private_key
        self._base_url = base_url
        self._timeout = timeout
        self._installations: dict[int, GitHub[Any]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubApp | None:
        """None when no GitHub setting is given; SettingsError when only some are, or the key
        is not one."""
        if not settings.github_enabled:
            return None
        pem = settings.github_private_key_pem()  # also requires all three settings
        return cls(app_id=settings.github_app_id, private_key=pem,  # type: ignore[arg-type]
                   base_url=settings.github_api_url, timeout=settings.github_api_timeout)

    def installation(self, installation_id: int) -> GitHub[Any]:
        """The installation's client. Each has a token cache of its own, so a token GitHub
        refused (revoked, or the App's key rotated) can be dropped alone (`refused`)."""
        client = self._installations.get(installation_id)
        if client is None:
            client = self._installations[installation_id] = GitHub(
                AppInstallationAuthStrategy(str(self.app_id), self._key, installation_id),
                base_url=self._base_url, timeout=self._timeout, auto_retry=False,
                http_cache=False, user_agent=USER_AGENT, cache_strategy=MemCacheStrategy())
        return client

    def refused(self, installation_id: int, exc: Exception) -> None:
        """githubkit keeps using a cached token GitHub answers 401 to until it expires: forget
        it, and the next call asks for a new one."""
        if isinstance(exc, RequestFailed) and exc.response.status_code == 401:
            self._installations.pop(installation_id, None)

    async def pull_request(self, installation_id: int, repository: str, number: int) -> PullRequest:
        owner, repo = repository.split("/", 1)
        response = await self.installation(installation_id).rest.pulls.async_get(owner, repo, number)
        return pull_request_of(Pull.model_validate(response.json()), repository)

    async def commits(self, installation_id: int, repository: str, number: int) -> list[Commit]:
        owner, repo = repository.split("/", 1)
        client = self.installation(installation_id)
        found: list[Commit] = []
        for page in range(1, _PAGES + 1):
            response = await client.rest.pulls.async_list_commits(owner, repo, number,
                                                                  per_page=_PAGE, page=page)
            batch = COMMITS.validate_python(response.json())
            found.extend(c.as_commit() for c in batch)
            if len(batch) < _PAGE:
                break
        return found

    async def create_check(self, installation_id: int, owner: str, repo: str,
                           body: dict[str, Any]) -> int:
        response = await self.installation(installation_id).rest.checks.async_create(
            owner, repo, data=body)  # type: ignore[arg-type]
        return _run_id(response.json())

    async def update_check(self, installation_id: int, owner: str, repo: str, check_run_id: int,
                           body: dict[str, Any]) -> int:
        response = await self.installation(installation_id).rest.checks.async_update(
            owner, repo, check_run_id, data=body)  # type: ignore[arg-type]
        return _run_id(response.json())

    async def find_check(self, installation_id: int, owner: str, repo: str, head_sha: str, *,
                         name: str, external_id: str) -> int | None:
        """The App's run of `name` on the commit that carries our `external_id`, if an earlier
        attempt to create it reached GitHub after all."""
        response = await self.installation(installation_id).rest.checks.async_list_for_ref(
            owner, repo, head_sha, check_name=name, app_id=self.app_id, filter_="all")
        runs = response.json().get("check_runs")
        for run in runs if isinstance(runs, list) else ():
            if isinstance(run, dict) and run.get("external_id") == external_id:
                return _run_id(run)
        return None


def _run_id(answer: Any) -> int:
    """The id of the check run GitHub answered with (read alone: see github_payloads)."""
    run_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        raise ValueError("GitHub answered a check run call without the run's id")
    return run_id


def unwrapped(exc: BaseException) -> BaseException:
    """The failure GitHub answered with. githubkit wraps a failed token exchange (it runs
    inside httpx's auth flow) in a plain RequestError, so a 503 there would read as
    "unreachable", and a 401 would not drop the refused token."""
    while type(exc) is RequestError and isinstance(exc.exc, RequestError):
        exc = exc.exc
    return exc

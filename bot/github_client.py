"""Countersign's GitHub App, through githubkit: the App's JWT, installation tokens (githubkit
caches each until a minute before it expires), and the few typed REST calls the flow needs.

No call here retries by itself: reads are retried by the delivery that needed them, writes by
the outbox row that owes them (bot/github_checks.py), each with back-off and a record.
"""

from __future__ import annotations

from typing import Any

from githubkit import AppAuthStrategy, GitHub
from githubkit.utils import UNSET
from githubkit.versions.latest.models import Commit as ApiCommit

from bot.settings import Settings
from services.pull_requests.markers import Commit, PullRequest

# GitHub lists at most 250 commits of a pull request, 100 to a page.
_PAGE = 100
_PAGES = 3
USER_AGENT = "Countersign"


class GitHubApp:
    def __init__(self, *, app_id: int, private_key: str, base_url: str, timeout: float) -> None:
        self.app_id = app_id
        self.app = GitHub(AppAuthStrategy(str(app_id), private_key), base_url=base_url,
                          timeout=timeout, auto_retry=False, http_cache=False, user_agent=USER_AGENT)
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
        client = self._installations.get(installation_id)
        if client is None:
            auth = self.app.auth.as_installation(installation_id)  # type: ignore[attr-defined]
            client = self._installations[installation_id] = self.app.with_auth(auth)
        return client

    async def pull_request(self, installation_id: int, repository: str, number: int) -> PullRequest:
        owner, repo = repository.split("/", 1)
        response = await self.installation(installation_id).rest.pulls.async_get(owner, repo, number)
        return pull_request_of(response.parsed_data, repository)

    async def commits(self, installation_id: int, repository: str, number: int) -> list[Commit]:
        owner, repo = repository.split("/", 1)
        client = self.installation(installation_id)
        found: list[Commit] = []
        for page in range(1, _PAGES + 1):
            response = await client.rest.pulls.async_list_commits(owner, repo, number,
                                                                  per_page=_PAGE, page=page)
            batch = response.parsed_data
            found.extend(commit_of(c) for c in batch)
            if len(batch) < _PAGE:
                break
        return found

    async def create_check(self, installation_id: int, owner: str, repo: str,
                           body: dict[str, Any]) -> int:
        response = await self.installation(installation_id).rest.checks.async_create(
            owner, repo, data=body)  # type: ignore[arg-type]
        return response.parsed_data.id

    async def update_check(self, installation_id: int, owner: str, repo: str, check_run_id: int,
                           body: dict[str, Any]) -> int:
        response = await self.installation(installation_id).rest.checks.async_update(
            owner, repo, check_run_id, data=body)  # type: ignore[arg-type]
        return response.parsed_data.id

    async def find_check(self, installation_id: int, owner: str, repo: str, head_sha: str, *,
                         name: str, external_id: str) -> int | None:
        """The App's run of `name` on the commit that carries our `external_id`, if an earlier
        attempt to create it reached GitHub after all."""
        response = await self.installation(installation_id).rest.checks.async_list_for_ref(
            owner, repo, head_sha, check_name=name, app_id=self.app_id, filter_="all")
        for run in response.parsed_data.check_runs:
            if run.external_id == external_id:
                return run.id
        return None


def pull_request_of(pr: Any, repository: str) -> PullRequest:
    """Our view of a pull request from the API's answer."""
    return PullRequest(
        repository=repository, number=pr.number, url=pr.html_url, title=pr.title or "",
        head_sha=pr.head.sha, author_login=pr.user.login if pr.user else None,
        author_id=pr.user.id if pr.user else None, body=pr.body or "",
        labels=tuple(label.name for label in pr.labels or () if label.name),
        draft=bool(_given(pr.draft)), additions=_given(pr.additions),
        deletions=_given(pr.deletions), changed_files=_given(pr.changed_files),
        merged=bool(_given(pr.merged)))


def commit_of(commit: ApiCommit) -> Commit:
    account = commit.author if getattr(commit.author, "login", None) else None
    git_author = commit.commit.author
    return Commit(sha=commit.sha, message=commit.commit.message or "",
                  author_login=getattr(account, "login", None), author_id=getattr(account, "id", None),
                  author_email=getattr(git_author, "email", None) if git_author else None)


def _given(value: Any) -> Any:
    """githubkit marks an absent field UNSET, which is neither None nor a value."""
    return None if value is UNSET else value

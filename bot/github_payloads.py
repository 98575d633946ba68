"""The parts of GitHub's webhook payloads and API answers the App reads, validated.

githubkit's generated models are strict to the newest description of every field — its
webhook and pull request models refuse octokit's example deliveries, which GitHub sent (a
label without `archived_by`) — and its webhook union takes over a second to build on first
use. What GitHub sends must never be refused over a field we do not read, so these models
name only what we read and ignore the rest; githubkit still verifies signatures, authenticates
and makes every call.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from services.pull_requests.markers import Commit, PullRequest


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Read):
    login: str = Field(max_length=100)
    id: int | None = None


class Label(_Read):
    name: str = Field(max_length=100)


class Head(_Read):
    sha: str = Field(pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class Pull(_Read):
    number: int = Field(ge=1)
    html_url: str = Field(max_length=500, pattern=r"^https?://")
    title: str = Field("", max_length=1000)
    body: str | None = Field(None, max_length=262144)
    head: Head
    user: Account | None = None
    labels: list[Label] = Field(default_factory=list, max_length=100)
    draft: bool = False
    merged: bool | None = None
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None


class Repository(_Read):
    full_name: str = Field(max_length=140, pattern=r"^[^/\s]+/[^/\s]+$")


class Installation(_Read):
    id: int = Field(ge=1)


class App(_Read):
    id: int


class PullRef(_Read):
    number: int = Field(ge=1)


class CheckRun(_Read):
    name: str = Field(max_length=300)
    head_sha: str
    app: App | None = None
    pull_requests: list[PullRef] = Field(default_factory=list)


class RequestedAction(_Read):
    identifier: str = Field(max_length=100)


class PullRequestEvent(_Read):
    action: str
    pull_request: Pull
    repository: Repository
    installation: Installation


class CheckRunEvent(_Read):
    action: str
    check_run: CheckRun
    repository: Repository
    installation: Installation
    sender: Account
    requested_action: RequestedAction | None = None


def pull_request_of(pr: Pull, repository: str) -> PullRequest:
    return PullRequest(
        repository=repository, number=pr.number, url=pr.html_url, title=pr.title,
        head_sha=pr.head.sha, author_login=pr.user.login if pr.user else None,
        author_id=pr.user.id if pr.user else None, body=pr.body or "",
        labels=tuple(label.name for label in pr.labels), draft=pr.draft,
        additions=pr.additions, deletions=pr.deletions, changed_files=pr.changed_files,
        merged=bool(pr.merged))


class GitAuthor(_Read):
    email: str | None = Field(None, max_length=320)


class GitCommit(_Read):
    message: str = Field("", max_length=1_000_000)
    author: GitAuthor | None = None


class ListedCommit(_Read):
    sha: str
    commit: GitCommit
    author: Account | None = None  # the GitHub account the commit is linked to

    @field_validator("author", mode="before")
    @classmethod
    def _linked(cls, value: object) -> object:
        # A commit linked to no account has `author: null`, or `{}` in some answers.
        return value if isinstance(value, dict) and value.get("login") else None

    def as_commit(self) -> Commit:
        return Commit(sha=self.sha, message=self.commit.message,
                      author_login=self.author.login if self.author else None,
                      author_id=self.author.id if self.author else None,
                      author_email=self.commit.author.email if self.commit.author else None)


COMMITS = TypeAdapter(list[ListedCommit])

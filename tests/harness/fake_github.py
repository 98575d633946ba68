"""A fake of GitHub's REST API as a GitHub App installation sees it, over real loopback HTTP.

Like FakeSlack, the server runs on its own event loop in a background thread, so synchronous
test code and a bot in another process both reach it the way they would reach GitHub. Every
public method of FakeGitHub is synchronous and thread-safe.

It covers what the bot uses: the App JWT → installation token exchange, a pull request's
commits, and creating, updating, reading and listing check runs. Request bodies are checked
against githubkit's models generated from GitHub's OpenAPI description (the ones githubkit
itself validates with before sending), and the answers validate against its response models.
A request GitHub would refuse is refused the same way and also noted in violations(), so a
test can assert there were none.
"""

import asyncio
import base64
import contextlib
import copy
import hashlib
import json
import math
import re
import secrets
import string
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Union
from urllib.parse import quote

import jwt
import pydantic
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from githubkit_schemas.v2026_03_10.models import (
    AppInstallationsInstallationIdAccessTokensPostBody,
    ReposOwnerRepoCheckRunsCheckRunIdPatchBodyAnyof0,
    ReposOwnerRepoCheckRunsCheckRunIdPatchBodyAnyof1,
    ReposOwnerRepoCheckRunsPostBodyOneof0,
    ReposOwnerRepoCheckRunsPostBodyOneof1,
)
from multidict import CIMultiDict

from tests.harness.loopback import LoopbackServer

__all__ = ["DEFAULT_APP_ID", "Call", "FakeGitHub", "GitHubFault", "commit", "node_id", "stable_id", "user"]

DEFAULT_APP_ID = 4242
APP_SLUG = "countersign"

_POLL_INTERVAL = 0.02
_TOKEN_LIFETIME = 3600
_JWT_MAX_LIFETIME = 600
_JWT_LEEWAY = 60
# GitHub lists at most 250 commits of a pull request, whatever the page.
_MAX_PULL_COMMITS = 250
_DOCS = "https://docs.github.com/rest"
_API = "https://api.github.com"
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_DEFAULT_PERMISSIONS = {"checks": "write", "contents": "read", "metadata": "read", "pull_requests": "read"}
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")
# application/json, or a GitHub media type: vnd.github+json, vnd.github.v3+json, vnd.github.raw, …
_MEDIA_TYPE = re.compile(r"application/(json|vnd\.github(\.[\w.-]+)?(\+json)?)")
_RATE_LIMITS_DOCS = f"{_DOCS}/using-the-rest-api/rate-limits-for-the-rest-api"
_SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)

_CREATE_BODY = pydantic.TypeAdapter(
    Union[ReposOwnerRepoCheckRunsPostBodyOneof0, ReposOwnerRepoCheckRunsPostBodyOneof1])
_UPDATE_BODY = pydantic.TypeAdapter(
    Union[ReposOwnerRepoCheckRunsCheckRunIdPatchBodyAnyof0, ReposOwnerRepoCheckRunsCheckRunIdPatchBodyAnyof1])
_TOKEN_BODY = pydantic.TypeAdapter(AppInstallationsInstallationIdAccessTokensPostBody)
# The models allow extra keys (GitHub ignores them), so a misspelt field is caught by name.
_BODY_FIELDS = {
    _CREATE_BODY: set(ReposOwnerRepoCheckRunsPostBodyOneof0.model_fields)
    | set(ReposOwnerRepoCheckRunsPostBodyOneof1.model_fields),
    _UPDATE_BODY: set(ReposOwnerRepoCheckRunsCheckRunIdPatchBodyAnyof0.model_fields)
    | set(ReposOwnerRepoCheckRunsCheckRunIdPatchBodyAnyof1.model_fields),
    _TOKEN_BODY: set(AppInstallationsInstallationIdAccessTokensPostBody.model_fields),
}


# -- builders ------------------------------------------------------------------------------

def user(login: str, user_id: int, type: str = "User") -> dict:
    """A GitHub account as the REST API (simple-user) and webhooks (user) both show it."""
    api = f"{_API}/users/{quote(login)}"
    html = f"https://github.com/{login}"
    if type == "Bot":  # a bot's profile is its App's page: dependabot[bot] → github.com/apps/dependabot
        html = f"https://github.com/apps/{login.removesuffix('[bot]')}"
    return {
        "login": login,
        "id": user_id,
        "node_id": node_id(type, user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": html,
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": type,
        "site_admin": False,
    }


def commit(sha: str, message: str, *, author_login: str | None = "octocat", author_id: int | None = 1,
           author_name: str = "Octo Cat", author_email: str = "octocat@github.com",
           repo_full_name: str = "octocat/Hello-World", parents: tuple[str, ...] | list[str] = (),
           date: str | None = None) -> dict:
    """A commit object as `GET /repos/{owner}/{repo}/pulls/{number}/commits` lists it.

    author_login or author_id None: the commit's email belongs to no GitHub account, so GitHub
    shows `author` and `committer` as null while the git author (name, email) stays."""
    api = f"{_API}/repos/{repo_full_name}"
    html = f"https://github.com/{repo_full_name}"
    signature = {"name": author_name, "email": author_email, "date": date or _iso(datetime.now(UTC))}
    account = user(author_login, author_id) if author_login is not None and author_id is not None else None
    tree = hashlib.sha1(f"tree of {sha}".encode()).hexdigest()
    return {
        "sha": sha,
        "node_id": node_id("Commit", f"{stable_id(repo_full_name)}:{sha}"),
        "url": f"{api}/commits/{sha}",
        "html_url": f"{html}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": signature,
            "committer": dict(signature),
            "message": message,
            "comment_count": 0,
            "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                             "verified_at": None},
        },
        "author": account,
        "committer": copy.deepcopy(account),
        "parents": [{"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in parents],
    }


def node_id(kind: str, object_id: int | str) -> str:
    """A legacy GraphQL node id, e.g. MDQ6VXNlcjE= for base64("04:User1")."""
    return base64.b64encode(f"0{len(kind)}:{kind}{object_id}".encode()).decode()


def stable_id(text: str) -> int:
    """A positive id derived from a name, the same in every run (fixtures need fixed ids)."""
    return zlib.crc32(text.encode()) or 1


# -- faults --------------------------------------------------------------------------------

GitHubFaultKind = Literal["server_error", "secondary_rate_limit", "rate_limited_429", "primary_rate_limit",
                          "slow", "drop"]


@dataclass(frozen=True)
class GitHubFault:
    """One failure FakeGitHub plays instead of its normal answer. `applies`: GitHub performs the
    call's side effect before failing (the cases a client cannot tell from the answer it gets)."""

    kind: GitHubFaultKind
    applies: bool
    status: int = 0
    retry_after: int = 0
    reset_in: int = 0
    seconds: float = 0.0

    @classmethod
    def server_error(cls, status: int = 502) -> "GitHubFault":
        """HTTP 5xx; nothing happens."""
        return cls("server_error", applies=False, status=status)

    @classmethod
    def secondary_rate_limit(cls, retry_after: int = 1) -> "GitHubFault":
        """403 with Retry-After and GitHub's secondary-rate-limit message; nothing happens."""
        return cls("secondary_rate_limit", applies=False, status=403, retry_after=retry_after)

    @classmethod
    def rate_limited_429(cls, retry_after: int = 1) -> "GitHubFault":
        """429 with Retry-After (GitHub's other way to answer a secondary limit); nothing happens."""
        return cls("rate_limited_429", applies=False, status=429, retry_after=retry_after)

    @classmethod
    def primary_rate_limit(cls, reset_in: int = 1) -> "GitHubFault":
        """403 with x-ratelimit-remaining: 0 and x-ratelimit-reset `reset_in` seconds ahead."""
        return cls("primary_rate_limit", applies=False, status=403, reset_in=reset_in)

    @classmethod
    def slow(cls, seconds: float, apply: bool = True) -> "GitHubFault":
        """Answer after `seconds`. apply=True: the side effect happens at once, only the answer
        is late (a client that times out has still created the run). apply=False: the whole
        call is late, and is recorded only when it is carried out."""
        return cls("slow", applies=apply, seconds=seconds)

    @classmethod
    def drop(cls, apply: bool = False) -> "GitHubFault":
        """Close the TCP connection without any HTTP response (after the side effect if apply)."""
        return cls("drop", applies=apply)


# -- records -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One request as the fake received it. status: what it answered, 0 for no answer (drop).
    route: the endpoint's name ("checks.create"), None for a path GitHub does not have here."""

    method: str
    path: str
    query: dict
    body: Any
    headers: dict
    status: int
    at: float
    fault: str | None
    route: str | None = None


@dataclass
class _Request:
    route: str | None
    method: str
    path: str
    url: Any  # yarl.URL of the request, for Link headers
    query: dict
    headers: CIMultiDict
    match: dict
    body: Any
    body_error: str | None


@dataclass
class _Answer:
    status: int
    body: Any
    headers: dict = field(default_factory=dict)


@dataclass
class _Repo:
    owner: str
    name: str
    pulls: dict[int, list[dict]] = field(default_factory=dict)
    # The pull request objects GET /pulls/{number} answers, for pulls given one.
    details: dict[int, dict] = field(default_factory=dict)
    # Every commit ever pushed to a pull stays addressable, as in git after a force-push.
    shas: set[str] = field(default_factory=set)


@dataclass
class _CheckRun:
    repo_key: str
    data: dict  # the CheckRun object GitHub answers with
    actions: list[dict] = field(default_factory=list)  # kept by GitHub, never returned by its API


# -- the fake ------------------------------------------------------------------------------

class FakeGitHub(LoopbackServer):
    THREAD_NAME = "fake-github"

    def __init__(self, app_id: int = DEFAULT_APP_ID):
        super().__init__()
        self.app_id = app_id
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public_key = key.public_key()
        # The format of the .pem GitHub hands out for an App.
        self.private_key_pem: str = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()).decode()
        self._lock = threading.Lock()
        # installation id → the repositories granted to it (lower-cased full names), None for all
        self._installations: dict[int, set[str] | None] = {}
        self._tokens: dict[str, tuple[int, float]] = {}  # token → (installation id, expiry epoch)
        self._repos: dict[str, _Repo] = {}  # by lower-cased full name: GitHub ignores the case
        self._runs: dict[int, _CheckRun] = {}
        self._suites: dict[tuple[str, str], int] = {}
        self._next_run_id = 1_000_001
        self._next_suite_id = 5_000_001
        self._calls: list[Call] = []
        self._violations: list[str] = []
        self._faults: dict[str, deque[GitHubFault]] = {}
        self._always: dict[str, GitHubFault] = {}

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What the bot gets as GITHUB_API_URL; githubkit appends paths like /repos/…"""
        if self._port is None:
            raise RuntimeError("FakeGitHub is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- seeding -------------------------------------------------------------------------

    def add_installation(self, installation_id: int, *, repositories: list[str] | None = None) -> None:
        """An installation of the App. repositories ("owner/repo"): the only ones its tokens reach
        (GitHub answers 404 for the others); None: every repository of the account."""
        with self._lock:
            self._installations[installation_id] = (
                None if repositories is None else {full_name.lower() for full_name in repositories})

    def expire_tokens(self) -> None:
        """Make every installation token issued so far invalid ("Bad credentials")."""
        with self._lock:
            self._tokens.clear()

    def add_pull(self, owner: str, repo: str, number: int, *, commits: list[dict],
                 pull: dict | None = None) -> None:
        """A pull request with these commits (objects as commit() builds them), oldest first;
        `pull` is the pull request object GET /pulls/{number} answers (a webhook payload's
        pull_request is one), its head the last commit."""
        with self._lock:
            stored = self._repos.setdefault(_repo_key(owner, repo), _Repo(owner, repo))
            stored.pulls[number] = copy.deepcopy(commits)
            if pull is not None:
                stored.details[number] = copy.deepcopy(pull)
            stored.shas.update(c["sha"] for c in commits)

    def set_commits(self, owner: str, repo: str, number: int, commits: list[dict]) -> None:
        """Replace the pull's commits, as a push or force-push does."""
        with self._lock:
            stored = self._repos.get(_repo_key(owner, repo))
            if stored is None or number not in stored.pulls:
                raise KeyError(f"no pull {owner}/{repo}#{number}; add_pull() it first")
            if number in stored.details and commits:
                stored.details[number]["head"]["sha"] = commits[-1]["sha"]
            stored.pulls[number] = copy.deepcopy(commits)
            stored.shas.update(c["sha"] for c in commits)

    # -- faults --------------------------------------------------------------------------

    def inject(self, route: str, *faults: GitHubFault) -> None:
        """Play these faults on the next calls to `route` ("checks.create"), one per call, in order."""
        with self._lock:
            self._faults.setdefault(route, deque()).extend(faults)

    def inject_always(self, route: str, fault: GitHubFault) -> None:
        """Play `fault` on every call to `route` (after any queued ones) until clear_faults().
        `route="*"`: on every endpoint without a fault of its own (GitHub down)."""
        with self._lock:
            self._always[route] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._always.clear()

    # -- inspection ----------------------------------------------------------------------

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, route: str) -> list[Call]:
        return [c for c in self.calls() if c.route == route]

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    def check_runs(self, owner: str, repo: str, head_sha: str | None = None) -> list[dict]:
        """The repository's check runs as they stand, oldest first: what GitHub answers for each,
        plus the `actions` (buttons) it shows but does not return."""
        key = _repo_key(owner, repo)
        with self._lock:
            return [{**copy.deepcopy(run.data), "actions": copy.deepcopy(run.actions)}
                    for run in self._runs.values()
                    if run.repo_key == key and head_sha in (None, run.data["head_sha"])]

    def wait_for(self, condition: str | Callable[["FakeGitHub"], Any], timeout: float = 10.0, *,
                 count: int = 1, description: str | None = None) -> Any:
        """Poll until `condition(fake)` returns something truthy, and return it. A route name
        instead waits for `count` calls to that route and returns them. AssertionError after
        `timeout`, with what was called."""
        if isinstance(condition, str):
            route = condition
            description = description or f"{count} call(s) to {route}"

            def condition(fake: FakeGitHub) -> list[Call] | None:
                found = fake.calls_to(route)
                return found if len(found) >= count else None

        description = description or getattr(condition, "__name__", repr(condition))
        deadline = time.monotonic() + timeout
        while True:
            result = condition(self)
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"not met within {timeout}s: {description}\n{self.describe()}")
            time.sleep(_POLL_INTERVAL)

    def wait_for_check(self, owner: str, repo: str, head_sha: str, *, name: str | None = None,
                       status: str | None = None, conclusion: str | None = None, timeout: float = 10.0) -> dict:
        """The newest check run on `head_sha` matching what is given, once there is one."""
        def matching(fake: FakeGitHub) -> dict | None:
            runs = [r for r in fake.check_runs(owner, repo, head_sha)
                    if name in (None, r["name"]) and status in (None, r["status"])
                    and conclusion in (None, r["conclusion"])]
            return runs[-1] if runs else None

        wanted = [f"{k}={v!r}" for k, v in (("name", name), ("status", status), ("conclusion", conclusion))
                  if v is not None]
        description = f"a check run on {owner}/{repo}@{head_sha}"
        return self.wait_for(matching, timeout,
                             description=f"{description} with {', '.join(wanted)}" if wanted else description)

    def describe(self) -> str:
        """Calls, check runs and violations, one line each, for assertion messages."""
        with self._lock:
            calls = [f"  {c.at:.3f} {c.method} {c.path} → {c.status}{f' [fault: {c.fault}]' if c.fault else ''}"
                     for c in self._calls]
            runs = [f"  {r.data['id']} {r.repo_key}@{r.data['head_sha'][:12]} {r.data['name']!r} "
                    f"{r.data['status']}/{r.data['conclusion']}" for r in self._runs.values()]
            violations = [f"  {v}" for v in self._violations]
        return "\n".join(["calls:", *(calls or ["  (none)"]), "check runs:", *(runs or ["  (none)"]),
                          "violations:", *(violations or ["  (none)"])])

    # -- server (everything below runs on the server thread) -----------------------------

    async def _start_server(self) -> None:
        self._stopping = asyncio.Event()  # created here so that it belongs to the server's loop
        app = web.Application()
        routes = [
            ("POST", "/app/installations/{installation_id:\\d+}/access_tokens",
             "apps.create_installation_access_token", self._create_token),
            ("GET", "/repos/{owner}/{repo}/pulls/{number:\\d+}", "pulls.get", self._get_pull),
            ("GET", "/repos/{owner}/{repo}/pulls/{number:\\d+}/commits", "pulls.list_commits", self._list_commits),
            ("POST", "/repos/{owner}/{repo}/check-runs", "checks.create", self._create_check_run),
            ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id:\\d+}", "checks.get", self._get_check_run),
            ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id:\\d+}", "checks.update",
             self._update_check_run),
            # A ref may be a branch name with slashes in it.
            ("GET", "/repos/{owner}/{repo}/commits/{ref:.+}/check-runs", "checks.list_for_ref",
             self._list_check_runs_for_ref),
        ]
        for method, path, route, handler in routes:
            app.router.add_route(method, path, self._endpoint(route, handler))
        app.router.add_route("*", "/{tail:.*}", self._endpoint(None, _not_found))
        await self._listen(app)

    async def _shutdown(self) -> None:
        self._stopping.set()
        await self._runner.cleanup()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):  # stop() cuts the wait short
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _endpoint(self, route: str | None, handler: Callable[[_Request], _Answer]):
        async def handle(request: web.Request) -> web.StreamResponse:
            req = await _read_request(request, route)
            with self._lock:
                fault = self._next_fault(route)
            if fault is not None and fault.kind == "slow" and not fault.applies:
                await self._sleep(fault.seconds)  # the request reaches "GitHub" only now
            with self._lock:
                # One critical section, so whoever sees the call recorded also sees its effect.
                if fault is None or fault.applies or fault.kind == "slow":  # an unapplied slow one has waited
                    answer = self._process(req, handler)
                else:
                    answer = _fault_answer(fault)
                dropped = fault is not None and fault.kind == "drop"
                self._record(req, 0 if dropped else answer.status, fault)
            if dropped:
                request.transport.abort()
                return web.Response()  # never written: the connection is gone
            if fault is not None and fault.kind == "slow" and fault.applies:
                await self._sleep(fault.seconds)
            headers = {"X-GitHub-Request-Id": secrets.token_hex(8).upper(), **answer.headers}
            return web.json_response(answer.body, status=answer.status, headers=headers)

        return handle

    def _next_fault(self, route: str | None) -> GitHubFault | None:
        if route is None:
            return None
        queued = self._faults.get(route)
        if queued:
            return queued.popleft()
        return self._always.get(route) or self._always.get("*")

    def _record(self, req: _Request, status: int, fault: GitHubFault | None) -> None:
        self._check_headers(req)
        self._calls.append(Call(req.method, req.path, req.query, req.body, dict(req.headers), status,
                                time.time(), fault.kind if fault else None, req.route))

    def _violation(self, req: _Request, problem: str) -> None:
        self._violations.append(f"{req.method} {req.path}: {problem}")

    def _check_headers(self, req: _Request) -> None:
        version = req.headers.get("X-GitHub-Api-Version")
        if version is not None and not _is_date(version):
            self._violation(req, f"X-GitHub-Api-Version {version!r} is not a date like 2022-11-28")
        accept = req.headers.get("Accept")
        if accept is None:
            self._violation(req, "no Accept header (GitHub documents application/vnd.github+json)")
        else:
            types = [part.split(";")[0].strip() for part in accept.split(",")]
            odd = [t for t in types if not _MEDIA_TYPE.fullmatch(t)]
            if odd:
                self._violation(req, f"Accept {accept!r} has {odd}, neither a GitHub media type nor JSON")
        if "User-Agent" not in req.headers:
            self._violation(req, "no User-Agent header (GitHub refuses such requests)")
        if req.body is not None and req.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self._violation(req, f"body sent as {req.headers.get('Content-Type')!r}, not application/json")

    def _process(self, req: _Request, handler: Callable[[_Request], _Answer]) -> _Answer:
        if req.body_error is not None:
            self._violation(req, req.body_error)
            return _error(400, "Problems parsing JSON")
        if req.route in (None, "apps.create_installation_access_token"):
            return handler(req)
        installation = self._installation(req)
        if installation is None:
            return _error(401, "Bad credentials")
        granted = self._installations[installation]
        if granted is not None and _repo_key(req.match["owner"], req.match["repo"]) not in granted:
            return _error(404, "Not Found")  # GitHub does not tell a repository it hides from one it lacks
        return handler(req)

    # -- authentication ------------------------------------------------------------------

    def _installation(self, req: _Request) -> int | None:
        """The installation whose valid token the request carries, if it carries one."""
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        issued = self._tokens.get(token) if scheme.lower() in ("token", "bearer") else None
        return issued[0] if issued is not None and time.time() < issued[1] else None

    def _jwt_problem(self, req: _Request) -> str | None:
        """Why GitHub would refuse the App JWT in the request, or None if it is good."""
        scheme, _, token = req.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "A JSON web token could not be decoded"
        try:
            claims = jwt.decode(token, self._public_key, algorithms=["RS256"], leeway=_JWT_LEEWAY,
                                options={"require": ["iat", "exp", "iss"]})
        except jwt.ExpiredSignatureError:
            return ("'Expiration time' claim ('exp') must be a numeric value representing the future time "
                    "at which the assertion expires")
        except jwt.ImmatureSignatureError:
            return ("'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
                    "was issued")
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        if claims["iss"] not in (self.app_id, str(self.app_id)):
            return "Integration not found"
        too_long = claims["exp"] - claims["iat"] > _JWT_MAX_LIFETIME
        if too_long or claims["exp"] > time.time() + _JWT_MAX_LIFETIME + _JWT_LEEWAY:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    # -- endpoints (called under the lock) -------------------------------------------------

    def _create_token(self, req: _Request) -> _Answer:
        problem = self._jwt_problem(req)
        if problem is not None:
            return _error(401, problem)
        installation_id = int(req.match["installation_id"])
        if installation_id not in self._installations:
            return _error(404, "Not Found")
        fields, refused = self._parse_body(req, _TOKEN_BODY)
        if refused:
            return refused
        token = "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))
        expires = time.time() + _TOKEN_LIFETIME
        self._tokens[token] = (installation_id, expires)
        return _Answer(201, {
            "token": token,
            "expires_at": _iso(datetime.fromtimestamp(expires, UTC)),
            "permissions": fields.get("permissions") or _DEFAULT_PERMISSIONS,
            "repository_selection": "all" if self._installations[installation_id] is None else "selected",
        })

    def _get_pull(self, req: _Request) -> _Answer:
        repo = self._repos.get(_repo_key(req.match["owner"], req.match["repo"]))
        pull = repo.details.get(int(req.match["number"])) if repo else None
        if pull is None:
            return _error(404, "Not Found")
        return _Answer(200, copy.deepcopy(pull))

    def _list_commits(self, req: _Request) -> _Answer:
        repo = self._repos.get(_repo_key(req.match["owner"], req.match["repo"]))
        commits = repo.pulls.get(int(req.match["number"])) if repo else None
        if commits is None:
            return _error(404, "Not Found")
        page, headers = _paginate(req, commits[:_MAX_PULL_COMMITS])
        return _Answer(200, copy.deepcopy(page), headers)

    def _create_check_run(self, req: _Request) -> _Answer:
        key = _repo_key(req.match["owner"], req.match["repo"])
        repo = self._repos.get(key)
        if repo is None:
            return _error(404, "Not Found")
        fields, refused = self._parse_body(req, _CREATE_BODY)
        if refused:
            return refused
        if fields["head_sha"] not in repo.shas:
            return self._unprocessable(req, f"No commit found for SHA: {fields['head_sha']}")
        run_id, self._next_run_id = self._next_run_id, self._next_run_id + 1
        suite = self._suites.get((key, fields["head_sha"]))
        if suite is None:
            suite = self._suites[(key, fields["head_sha"])] = self._next_suite_id
            self._next_suite_id += 1
        api = f"{_API}/repos/{repo.owner}/{repo.name}"
        now = _iso(datetime.now(UTC))
        run = _CheckRun(key, {
            "id": run_id,
            "name": fields["name"],
            "node_id": node_id("CheckRun", run_id),
            "head_sha": fields["head_sha"],
            "external_id": "",
            "url": f"{api}/check-runs/{run_id}",
            "html_url": f"https://github.com/{repo.owner}/{repo.name}/runs/{run_id}",
            "details_url": self._app()["external_url"],  # GitHub's default: the App's homepage
            "status": "queued",
            "conclusion": None,
            "started_at": now,
            "completed_at": None,
            "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                       "annotations_url": f"{api}/check-runs/{run_id}/annotations"},
            "check_suite": {"id": suite},
            "app": self._app(),
            "pull_requests": [],
        })
        _apply(run, fields, now)
        self._runs[run_id] = run
        return _Answer(201, copy.deepcopy(run.data))

    def _update_check_run(self, req: _Request) -> _Answer:
        run = self._run(req)
        if run is None:
            return _error(404, "Not Found")
        fields, refused = self._parse_body(req, _UPDATE_BODY)
        if refused:
            return refused
        if "completed_at" in fields and "conclusion" not in fields and run.data["conclusion"] is None:
            return self._unprocessable(req, "conclusion is required when completed_at is provided")
        _apply(run, fields, _iso(datetime.now(UTC)))
        return _Answer(200, copy.deepcopy(run.data))

    def _get_check_run(self, req: _Request) -> _Answer:
        run = self._run(req)
        return _Answer(200, copy.deepcopy(run.data)) if run else _error(404, "Not Found")

    def _list_check_runs_for_ref(self, req: _Request) -> _Answer:
        key = _repo_key(req.match["owner"], req.match["repo"])
        if key not in self._repos:
            return _error(404, "Not Found")
        q = req.query
        runs = [r.data for r in reversed(self._runs.values())  # newest first
                if r.repo_key == key and r.data["head_sha"] == req.match["ref"]
                and q.get("check_name") in (None, r.data["name"]) and q.get("status") in (None, r.data["status"])
                and q.get("app_id") in (None, str(r.data["app"]["id"]))]
        if q.get("filter", "latest") == "latest":
            newest: dict[str, dict] = {}
            for data in runs:
                newest.setdefault(data["name"], data)
            runs = list(newest.values())
        page, headers = _paginate(req, runs)
        return _Answer(200, {"total_count": len(runs), "check_runs": copy.deepcopy(page)}, headers)

    def _run(self, req: _Request) -> _CheckRun | None:
        run = self._runs.get(int(req.match["check_run_id"]))
        if run is None or run.repo_key != _repo_key(req.match["owner"], req.match["repo"]):
            return None
        return run

    def _parse_body(self, req: _Request, adapter: pydantic.TypeAdapter) -> tuple[dict, _Answer | None]:
        """The body's fields as the model reads them (datetimes parsed), or GitHub's 422."""
        body = {} if req.body is None and adapter is _TOKEN_BODY else req.body
        try:
            model = adapter.validate_python(body)
        except pydantic.ValidationError as e:
            # For a union, loc starts with the variant's model: it tells which variant failed how.
            errors = [{"resource": req.route, "field": ".".join(map(str, err["loc"])) or "body",
                       "code": "missing_field" if err["type"] == "missing" else "invalid", "message": err["msg"]}
                      for err in e.errors()]
            self._violation(req, "invalid body: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors))
            return {}, _Answer(422, {"message": "Invalid request", "errors": errors,
                                     "documentation_url": _DOCS, "status": "422"})
        fields = model.model_dump(exclude_unset=True)
        unknown = sorted(set(fields) - _BODY_FIELDS[adapter])
        if unknown:
            self._violation(req, f"unknown fields {unknown} (GitHub ignores them)")
        if fields.get("conclusion") == "stale":
            return {}, self._unprocessable(req, "Only GitHub can set a check run's conclusion to stale")
        return fields, None

    def _unprocessable(self, req: _Request, message: str) -> _Answer:
        self._violation(req, message)
        return _Answer(422, {"message": message, "documentation_url": _DOCS, "status": "422"})

    def _app(self) -> dict:
        """The App as check runs show it (githubkit's Integration model)."""
        return {
            "id": self.app_id,
            "slug": APP_SLUG,
            "node_id": node_id("Integration", self.app_id),
            "client_id": f"Iv23li{self.app_id:014d}",
            "owner": user("countersign-dev", 9_000_001, "Organization"),
            "name": "Countersign",
            "description": "Slack sign-offs for pull requests",
            "external_url": "https://countersign.example.com",
            "html_url": f"https://github.com/apps/{APP_SLUG}",
            "created_at": "2026-01-05T09:00:00Z",
            "updated_at": "2026-01-05T09:00:00Z",
            "permissions": dict(_DEFAULT_PERMISSIONS),
            "events": ["check_run", "pull_request"],
        }


# -- helpers -------------------------------------------------------------------------------

async def _read_request(request: web.Request, route: str | None) -> _Request:
    text = await request.text() if request.can_read_body else ""
    body, body_error = None, None
    if text:
        try:
            body = json.loads(text)
        except json.JSONDecodeError as e:
            body, body_error = text, f"body is not JSON ({e})"
    return _Request(route, request.method, request.path, request.url, dict(request.query),
                    CIMultiDict(request.headers), dict(request.match_info), body, body_error)


def _apply(run: _CheckRun, fields: dict, now: str) -> None:
    """Carry a create or update body over to the run, as GitHub does."""
    data = run.data
    for key in ("name", "details_url", "external_id"):
        if key in fields:
            data[key] = fields[key]
    if "started_at" in fields:
        data["started_at"] = _iso(fields["started_at"])
    if "status" in fields:
        data["status"] = fields["status"]
        if fields["status"] != "completed":  # re-opening a completed run clears its result
            data["conclusion"] = data["completed_at"] = None
    if "conclusion" in fields:  # GitHub: providing a conclusion completes the run
        data["status"], data["conclusion"] = "completed", fields["conclusion"]
    if "completed_at" in fields:
        data["completed_at"] = _iso(fields["completed_at"])
    if data["status"] == "completed" and data["completed_at"] is None:
        data["completed_at"] = now
    if "output" in fields:
        output = fields["output"]
        for key in ("title", "summary", "text"):
            if key in output:
                data["output"][key] = output[key]
        # Annotations add up across updates; GitHub keeps them under annotations_url.
        data["output"]["annotations_count"] += len(output.get("annotations", []))
    if "actions" in fields:
        run.actions = fields["actions"]


def _paginate(req: _Request, items: list) -> tuple[list, dict[str, str]]:
    """One page of `items` by per_page (default 30, at most 100) and page, with GitHub's Link."""
    per_page = min(max(_int(req.query.get("per_page"), 30), 1), 100)
    page = max(_int(req.query.get("page"), 1), 1)
    last = max(math.ceil(len(items) / per_page), 1)

    def link(number: int, rel: str) -> str:
        return f'<{req.url.update_query(per_page=per_page, page=number)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    headers = {"Link": ", ".join(links)} if links else {}
    return items[(page - 1) * per_page:page * per_page], headers


def _fault_answer(fault: GitHubFault) -> _Answer:
    if fault.kind == "server_error":
        return _error(fault.status, "Server Error")
    if fault.kind in ("secondary_rate_limit", "rate_limited_429"):
        return _Answer(fault.status, {
            "message": _SECONDARY_LIMIT_MESSAGE,
            "documentation_url": f"{_RATE_LIMITS_DOCS}#about-secondary-rate-limits",
            "status": str(fault.status),
        }, {"Retry-After": str(fault.retry_after)})
    if fault.kind == "primary_rate_limit":
        return _Answer(403, {
            "message": "API rate limit exceeded for installation.",
            "documentation_url": f"{_RATE_LIMITS_DOCS}#about-primary-rate-limits",
            "status": "403",
        }, {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
            "X-RateLimit-Reset": str(math.ceil(time.time() + fault.reset_in)), "X-RateLimit-Resource": "core"})
    return _Answer(0, None)  # drop: never sent


def _not_found(req: _Request) -> _Answer:
    return _error(404, "Not Found")


def _error(status: int, message: str) -> _Answer:
    return _Answer(status, {"message": message, "documentation_url": _DOCS, "status": str(status)})


def _repo_key(owner: str, repo: str) -> str:
    return f"{owner}/{repo}".lower()


def _iso(moment: datetime) -> str:
    """GitHub's timestamp format, 2026-01-05T09:00:00Z (githubkit parses exactly that for tokens)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_date(text: str) -> bool:
    if not _API_VERSION.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:  # GitHub ignores a per_page or page it cannot read
        return default

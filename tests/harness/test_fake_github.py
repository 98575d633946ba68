"""FakeGitHub seen through githubkit, the client the bot uses; and the webhook builders."""

import calendar
import hashlib
import hmac
import json
import threading
import time

import httpx
import jwt
import pydantic
import pytest
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import (
    PrimaryRateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
    SecondaryRateLimitExceeded,
)
from githubkit_schemas.v2026_03_10.models import CheckRun, Commit, Integration, SimpleUser

from tests.harness import github_hooks
from tests.harness.fake_github import FakeGitHub, GitHubFault, commit
from tests.harness.github_hooks import check_run_event, delivery, example, pull_request_event, sign, validate

INSTALLATION = 31337
OWNER, REPO, PULL = "octo-org", "widgets", 7
SHA = "a" * 40
GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2026-03-10"}
CHECK_RUN = pydantic.TypeAdapter(CheckRun)


@pytest.fixture
def fake():
    with FakeGitHub() as fake:
        fake.add_installation(INSTALLATION)
        fake.add_pull(OWNER, REPO, PULL, commits=[commit(SHA, "Add widget", repo_full_name=f"{OWNER}/{REPO}")])
        yield fake


def client(fake: FakeGitHub, installation_id: int = INSTALLATION, **kwargs) -> GitHub:
    # A cache of its own: githubkit's default one is process-wide and would hand this client
    # the JWT (signed with another fake's key) and token another test's client cached.
    options = {"auto_retry": False, "http_cache": False, "cache_strategy": MemCacheStrategy(), **kwargs}
    return GitHub(AppInstallationAuthStrategy(str(fake.app_id), fake.private_key_pem, installation_id),
                  base_url=fake.base_url, **options)


def app_jwt(fake: FakeGitHub, key: str | None = None, **claims) -> str:
    now = int(time.time())
    claims = {"iat": now - 60, "exp": now + 540, "iss": str(fake.app_id), **claims}
    # Signed as a bare JWS: jwt.encode refuses an integer iss, which GitHub accepts.
    return jwt.api_jws.encode(json.dumps(claims).encode(), key or fake.private_key_pem, algorithm="RS256")


def exchange(fake: FakeGitHub, token: str, installation_id: int = INSTALLATION) -> httpx.Response:
    return httpx.post(f"{fake.base_url}/app/installations/{installation_id}/access_tokens",
                      headers={**GITHUB_HEADERS, "Authorization": f"Bearer {token}"})


def raw(fake: FakeGitHub, method: str, path: str, body=None, **headers) -> httpx.Response:
    token = exchange(fake, app_jwt(fake)).json()["token"]
    return httpx.request(method, fake.base_url + path, json=body,
                         headers={**GITHUB_HEADERS, "Authorization": f"token {token}", **headers})


def create_check(github: GitHub, name: str = "Countersign sign-off", **fields):
    return github.rest.checks.create(OWNER, REPO, name=name, head_sha=SHA, **fields)


# -- authentication ------------------------------------------------------------------------

def test_installation_token_is_issued_once_and_reused(fake):
    github = client(fake)
    github.rest.pulls.list_commits(OWNER, REPO, PULL)
    github.rest.pulls.list_commits(OWNER, REPO, PULL)

    exchange_call, *lists = fake.calls()
    assert exchange_call.route == "apps.create_installation_access_token" and exchange_call.status == 201
    assert exchange_call.headers["Authorization"].startswith("Bearer ey")
    assert [c.route for c in lists] == ["pulls.list_commits"] * 2
    tokens = {c.headers["Authorization"] for c in lists}
    assert len(tokens) == 1 and tokens.pop().startswith("token ghs_")
    assert fake.violations() == []


def test_token_answer_is_what_github_documents(fake):
    answer = exchange(fake, app_jwt(fake, iss=fake.app_id))  # GitHub takes an integer iss too

    assert answer.status_code == 201
    body = answer.json()
    assert body["token"].startswith("ghs_") and body["repository_selection"] == "all"
    expires = calendar.timegm(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 3590 < expires - time.time() <= 3600


@pytest.mark.parametrize(("make_jwt", "message"), [
    (lambda fake: app_jwt(fake, key=FakeGitHub().private_key_pem), "could not be decoded"),
    (lambda fake: app_jwt(fake, iss="999"), "Integration not found"),
    (lambda fake: app_jwt(fake, exp=int(time.time()) + 3600), "too far in the future"),
    (lambda fake: app_jwt(fake, iat=int(time.time()) - 1200, exp=int(time.time()) - 700), "Expiration time"),
    (lambda fake: "not-a-jwt", "could not be decoded"),
])
def test_token_exchange_refuses_a_bad_jwt(fake, make_jwt, message):
    answer = exchange(fake, make_jwt(fake))

    assert answer.status_code == 401 and message in answer.json()["message"]


def test_token_exchange_for_an_unknown_installation_is_404(fake):
    assert exchange(fake, app_jwt(fake), installation_id=1).status_code == 404


def test_a_token_reaches_only_the_repositories_granted_to_its_installation(fake):
    fake.add_installation(2, repositories=[f"{OWNER}/gadgets"])
    github = client(fake, installation_id=2)

    with pytest.raises(RequestFailed) as hidden:
        github.rest.pulls.list_commits(OWNER, REPO, PULL)

    assert hidden.value.response.status_code == 404
    assert exchange(fake, app_jwt(fake), installation_id=2).json()["repository_selection"] == "selected"


def test_expired_tokens_fail_until_a_client_fetches_a_new_one(fake):
    github = client(fake)
    github.rest.pulls.list_commits(OWNER, REPO, PULL)
    fake.expire_tokens()

    # githubkit keeps its cached token until its expires_at and does not refetch on a 401.
    with pytest.raises(RequestFailed) as refused:
        github.rest.pulls.list_commits(OWNER, REPO, PULL)
    assert refused.value.response.status_code == 401
    assert refused.value.response.json()["message"] == "Bad credentials"

    fresh = client(fake)
    fresh.rest.pulls.list_commits(OWNER, REPO, PULL)
    assert len(fake.calls_to("apps.create_installation_access_token")) == 2


@pytest.mark.parametrize("authorization", [None, "token ghs_never_issued", "Bearer ghs_never_issued"])
def test_repository_endpoints_need_an_issued_token(fake, authorization):
    headers = {**GITHUB_HEADERS, **({"Authorization": authorization} if authorization else {})}
    answer = httpx.get(f"{fake.base_url}/repos/{OWNER}/{REPO}/pulls/{PULL}/commits", headers=headers)

    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"
    assert fake.calls()[-1].status == 401


def test_a_failed_token_exchange_surfaces_as_a_request_error(fake):
    fake.inject("apps.create_installation_access_token", GitHubFault.server_error(502))

    # The exchange runs inside httpx's auth flow, so githubkit wraps its RequestFailed in a
    # RequestError, and its default retry (RequestFailed with status >= 500 only) never applies.
    github = client(fake, auto_retry=True)
    with pytest.raises(RequestError) as failed:
        github.rest.pulls.list_commits(OWNER, REPO, PULL)
    assert not isinstance(failed.value, RequestFailed)
    assert isinstance(failed.value.__cause__, RequestFailed)
    assert [c.status for c in fake.calls()] == [502]


# -- pull request commits ------------------------------------------------------------------

def test_commits_paginate_through_the_link_header(fake):
    commits = [commit(f"{i:040x}", f"Commit {i}", parents=[f"{i - 1:040x}"] if i else [],
                      repo_full_name=f"{OWNER}/{REPO}") for i in range(35)]
    fake.set_commits(OWNER, REPO, PULL, commits)
    github = client(fake)

    listed = list(github.rest.paginate(github.rest.pulls.list_commits, owner=OWNER, repo=REPO, pull_number=PULL))

    assert [c.sha for c in listed] == [c["sha"] for c in commits]
    assert all(isinstance(c, Commit) and isinstance(c.author, SimpleUser) for c in listed)
    assert [c.query for c in fake.calls_to("pulls.list_commits")] == [{}, {"per_page": "30", "page": "2"}]


def test_pages_follow_per_page_and_carry_github_links(fake):
    fake.set_commits(OWNER, REPO, PULL, [commit(f"{i:040x}", "c") for i in range(35)])

    first = raw(fake, "GET", f"/repos/{OWNER}/{REPO}/pulls/{PULL}/commits?per_page=10")
    third = raw(fake, "GET", f"/repos/{OWNER}/{REPO}/pulls/{PULL}/commits?per_page=10&page=3")
    capped = raw(fake, "GET", f"/repos/{OWNER}/{REPO}/pulls/{PULL}/commits?per_page=500")

    assert len(first.json()) == 10 and set(first.links) == {"next", "last"}
    assert first.links["next"]["url"].endswith("per_page=10&page=2")
    assert first.links["last"]["url"].endswith("page=4")
    assert set(third.links) == {"prev", "next", "last", "first"}
    assert len(capped.json()) == 35 and "link" not in capped.headers


def test_unknown_pull_is_404(fake):
    github = client(fake)
    with pytest.raises(RequestFailed) as missing:
        github.rest.pulls.list_commits(OWNER, REPO, 999)
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["message"] == "Not Found"


def test_commit_without_a_github_account_lists_null_authors(fake):
    fake.set_commits(OWNER, REPO, PULL, [commit(SHA, "Anon", author_login=None, author_email="x@example.com")])

    github = client(fake)
    [listed] = github.rest.pulls.list_commits(OWNER, REPO, PULL).parsed_data

    assert listed.author is None and listed.committer is None
    assert listed.commit.author.email == "x@example.com"


# -- check runs ----------------------------------------------------------------------------

async def test_check_run_lifecycle(fake):
    github = client(fake)
    created = await github.rest.checks.async_create(
        OWNER, REPO, name="Countersign sign-off", head_sha=SHA, status="in_progress",
        output={"title": "Waiting", "summary": "Needs a sign-off"},
        actions=[{"label": "Sign off", "description": "Record a sign-off", "identifier": "signoff"}])
    run_id = created.parsed_data.id

    assert created.status_code == 201
    assert (created.parsed_data.status, created.parsed_data.conclusion) == ("in_progress", None)
    updated = await github.rest.checks.async_update(
        OWNER, REPO, run_id, conclusion="success", output={"title": "Signed off", "summary": "By @ana"})
    listed = await github.rest.checks.async_list_for_ref(OWNER, REPO, SHA, check_name="Countersign sign-off")
    fetched = await github.rest.checks.async_get(OWNER, REPO, run_id)

    assert (updated.parsed_data.status, updated.parsed_data.conclusion) == ("completed", "success")
    assert updated.parsed_data.completed_at is not None
    assert listed.parsed_data.total_count == 1 and listed.parsed_data.check_runs[0].id == run_id
    assert fetched.json() == updated.json()
    [stored] = fake.check_runs(OWNER, REPO, SHA)
    assert stored["output"]["title"] == "Signed off" and stored["actions"][0]["identifier"] == "signoff"
    assert fake.violations() == []


def test_check_run_answers_validate_against_githubkit_models(fake):
    answer = create_check(client(fake), status="completed", conclusion="neutral",
                          completed_at="2026-01-05T10:00:00Z").json()

    run = CHECK_RUN.validate_python(answer)
    assert isinstance(run.app, Integration) and run.app.id == fake.app_id
    assert answer["completed_at"] == "2026-01-05T10:00:00Z" and answer["details_url"]
    assert answer["check_suite"]["id"] and answer["pull_requests"] == []


def test_listing_keeps_the_latest_run_of_each_name_unless_asked_for_all(fake):
    github = client(fake)
    create_check(github)
    newest = create_check(github).parsed_data.id
    create_check(github, name="other")

    latest = github.rest.checks.list_for_ref(OWNER, REPO, SHA, check_name="Countersign sign-off").parsed_data
    every = github.rest.checks.list_for_ref(OWNER, REPO, SHA, filter_="all").parsed_data
    other_app = github.rest.checks.list_for_ref(OWNER, REPO, SHA, app_id=1).parsed_data

    assert [r.id for r in latest.check_runs] == [newest]
    assert every.total_count == 3
    assert other_app.total_count == 0


def test_update_of_an_unknown_run_is_404(fake):
    github = client(fake)
    with pytest.raises(RequestFailed) as missing:
        github.rest.checks.update(OWNER, REPO, 12345, status="in_progress")
    assert missing.value.response.status_code == 404


def test_githubkit_validates_bodies_before_sending(fake):
    with pytest.raises(pydantic.ValidationError):
        create_check(client(fake), status="completed")  # no conclusion
    assert fake.calls() == []


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", f"/repos/{OWNER}/{REPO}/check-runs", {"name": "x", "head_sha": SHA, "status": "completed"}),
    ("POST", f"/repos/{OWNER}/{REPO}/check-runs", {"name": "x"}),
    ("POST", f"/repos/{OWNER}/{REPO}/check-runs", {"name": "x", "head_sha": SHA, "actions": [
        {"label": "A label far longer than twenty", "description": "d", "identifier": "i"}]}),
    ("PATCH", f"/repos/{OWNER}/{REPO}/check-runs/{{run_id}}", {"status": "done"}),
    ("PATCH", f"/repos/{OWNER}/{REPO}/check-runs/{{run_id}}", {"conclusion": "stale"}),
])
def test_invalid_bodies_are_422_and_violations(fake, method, path, body):
    run_id = create_check(client(fake)).parsed_data.id
    before = fake.check_runs(OWNER, REPO)

    answer = raw(fake, method, path.format(run_id=run_id), body)

    assert answer.status_code == 422, answer.text
    assert answer.json()["message"]
    [violation] = fake.violations()
    assert path.format(run_id=run_id) in violation
    assert fake.check_runs(OWNER, REPO) == before


def test_a_check_run_on_an_unknown_commit_is_422(fake):
    answer = raw(fake, "POST", f"/repos/{OWNER}/{REPO}/check-runs", {"name": "x", "head_sha": "b" * 40})

    assert answer.status_code == 422 and "No commit found" in answer.json()["message"]
    assert fake.check_runs(OWNER, REPO) == [] and len(fake.violations()) == 1


def test_misspelt_fields_and_odd_headers_are_violations(fake):
    answer = raw(fake, "POST", f"/repos/{OWNER}/{REPO}/check-runs",
                 {"name": "x", "head_sha": SHA, "conclution": "success"},
                 Accept="text/html", **{"X-GitHub-Api-Version": "latest"})

    assert answer.status_code == 201  # GitHub ignores both; the fake notes them
    problems = "\n".join(fake.violations())
    assert "conclution" in problems and "text/html" in problems and "'latest'" in problems


def test_unknown_paths_are_404_and_recorded(fake):
    answer = raw(fake, "DELETE", f"/repos/{OWNER}/{REPO}/check-runs/1")

    assert answer.status_code == 404
    assert (fake.calls()[-1].route, fake.calls()[-1].status) == (None, 404)


# -- faults --------------------------------------------------------------------------------

@pytest.mark.parametrize(("fault", "error", "status"), [
    (GitHubFault.server_error(), RequestFailed, 502),
    (GitHubFault.secondary_rate_limit(retry_after=7), SecondaryRateLimitExceeded, 403),
    (GitHubFault.rate_limited_429(retry_after=7), SecondaryRateLimitExceeded, 429),
    (GitHubFault.primary_rate_limit(reset_in=30), PrimaryRateLimitExceeded, 403),
])
def test_error_faults_have_no_effect(fake, fault, error, status):
    fake.inject("checks.create", fault)

    with pytest.raises(error) as failed:
        create_check(client(fake))

    assert failed.value.response.status_code == status
    if isinstance(failed.value, SecondaryRateLimitExceeded):
        assert failed.value.retry_after.total_seconds() == 7
        assert "secondary rate limit" in failed.value.response.json()["message"]
    if isinstance(failed.value, PrimaryRateLimitExceeded):
        assert 28 <= failed.value.retry_after.total_seconds() <= 31
    assert fake.check_runs(OWNER, REPO) == []
    assert (fake.calls()[-1].fault, fake.calls()[-1].status) == (fault.kind, status)


def test_githubkit_retries_by_default_after_a_rate_limit(fake):
    # Not retry_after=0: githubkit sleeps 60 s for a zero Retry-After (a falsy timedelta).
    fake.inject("checks.create", GitHubFault.secondary_rate_limit(retry_after=1))

    create_check(client(fake, auto_retry=True))

    assert [c.status for c in fake.calls_to("checks.create")] == [403, 201]
    assert len(fake.check_runs(OWNER, REPO)) == 1


@pytest.mark.parametrize("apply", [False, True])
def test_drop_is_a_request_error(fake, apply):
    fake.inject("checks.create", GitHubFault.drop(apply=apply))

    with pytest.raises(RequestError) as dropped:
        create_check(client(fake))

    assert isinstance(dropped.value.__cause__, httpx.TransportError)
    assert len(fake.check_runs(OWNER, REPO)) == (1 if apply else 0)
    assert (fake.calls()[-1].fault, fake.calls()[-1].status) == ("drop", 0)


def test_slow_answer_times_the_client_out_after_the_run_was_created(fake):
    fake.inject("checks.create", GitHubFault.slow(3))

    with pytest.raises(RequestTimeout):
        create_check(client(fake, timeout=0.3))

    assert len(fake.check_runs(OWNER, REPO)) == 1


def test_slow_unapplied_call_takes_effect_only_when_it_is_carried_out(fake):
    fake.inject("checks.create", GitHubFault.slow(0.6, apply=False))

    with pytest.raises(RequestTimeout):
        create_check(client(fake, timeout=0.2))

    assert fake.check_runs(OWNER, REPO) == [] and fake.calls_to("checks.create") == []
    fake.wait_for_check(OWNER, REPO, SHA, timeout=5)
    assert fake.calls_to("checks.create")[0].fault == "slow"


def test_queued_faults_play_in_order_and_always_faults_until_cleared(fake):
    fake.inject("checks.create", GitHubFault.server_error(500), GitHubFault.server_error(503))
    github = client(fake)
    for status in (500, 503):
        with pytest.raises(RequestFailed) as failed:
            create_check(github)
        assert failed.value.response.status_code == status
    create_check(github)

    fake.inject_always("*", GitHubFault.server_error(503))
    with pytest.raises(RequestError):
        create_check(client(fake))  # GitHub down: the token exchange fails too
    fake.clear_faults()
    create_check(client(fake))

    assert len(fake.check_runs(OWNER, REPO)) == 2


# -- waiting -------------------------------------------------------------------------------

def test_wait_for_check_sees_a_run_created_meanwhile(fake):
    github = client(fake)
    run_id = create_check(github, status="in_progress").parsed_data.id
    threading.Timer(0.1, lambda: github.rest.checks.update(OWNER, REPO, run_id, conclusion="failure")).start()

    run = fake.wait_for_check(OWNER, REPO, SHA, conclusion="failure", timeout=5)

    assert run["id"] == run_id and run["status"] == "completed"
    assert len(fake.wait_for("checks.update")) == 1


def test_wait_for_timeout_describes_what_happened(fake):
    create_check(client(fake))

    expected = r"conclusion='success'(.|\n)*POST /repos/octo-org/widgets/check-runs → 201"
    with pytest.raises(AssertionError, match=expected):
        fake.wait_for_check(OWNER, REPO, SHA, conclusion="success", timeout=0.1)


def test_reset_calls_forgets_calls_only(fake):
    create_check(client(fake))
    fake.reset_calls()

    assert fake.calls() == [] and len(fake.check_runs(OWNER, REPO)) == 1


# -- webhooks ------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["opened", "synchronize", "labeled", "reopened", "ready_for_review", "closed"])
def test_pull_request_builders_validate(action):
    payload = pull_request_event(action, installation_id=INSTALLATION)

    validate("pull_request", payload)
    assert payload["installation"]["id"] == INSTALLATION


def test_pull_request_builder_keeps_everything_consistent():
    payload = pull_request_event(
        "synchronize", installation_id=9, repo_full_name="acme/rockets", number=42, head_sha=SHA,
        before="c" * 40, body=None, labels=["needs-signoff"], author_login="dependabot[bot]",
        author_id=49699333, author_type="Bot", draft=True)
    pr = payload["pull_request"]

    assert (payload["number"], pr["number"], payload["after"], payload["before"]) == (42, 42, SHA, "c" * 40)
    assert pr["html_url"] == "https://github.com/acme/rockets/pull/42"
    assert pr["url"] == "https://api.github.com/repos/acme/rockets/pulls/42"
    assert pr["head"]["sha"] == SHA and pr["statuses_url"].endswith(f"/acme/rockets/statuses/{SHA}")
    assert payload["repository"]["full_name"] == "acme/rockets" and payload["repository"]["name"] == "rockets"
    assert payload["repository"]["owner"]["login"] == "acme" and pr["base"]["label"].startswith("acme:")
    assert [lb["name"] for lb in pr["labels"]] == ["needs-signoff"] and pr["body"] is None and pr["draft"]
    assert pr["user"]["login"] == payload["sender"]["login"] == "dependabot[bot]"
    text = json.dumps(payload)  # Codertocat stays only as the assignee, a user of their own
    assert "Hello-World" not in text and "/repos/Codertocat" not in text and "github.com/Codertocat/" not in text


def test_labeled_and_merged_builders():
    labeled = pull_request_event("labeled", labels=["bug", "signoff"])
    merged = pull_request_event("closed", merged=True)

    assert labeled["label"]["name"] == "signoff"
    assert merged["pull_request"]["merged"] and merged["pull_request"]["merged_at"]
    with pytest.raises(AssertionError, match="opened"):
        pull_request_event("opened", merged=True)  # GitHub never sends that


@pytest.mark.parametrize("action", ["requested_action", "rerequested", "created", "completed"])
def test_check_run_builders_validate(action):
    payload = check_run_event(action, repo_full_name="acme/rockets", head_sha=SHA, check_run_id=77,
                              pull_numbers=[42])
    run = payload["check_run"]

    validate("check_run", payload)
    assert (run["id"], run["head_sha"], run["name"], run["app"]["id"]) == (77, SHA, "Countersign sign-off", 4242)
    assert run["url"] == "https://api.github.com/repos/acme/rockets/check-runs/77"
    [pull] = run["pull_requests"]
    pr = pull_request_event("opened", repo_full_name="acme/rockets", number=42)["pull_request"]
    assert (pull["id"], pull["number"], pull["head"]["repo"]["id"]) == (pr["id"], 42, pr["base"]["repo"]["id"])


def test_requested_action_carries_the_identifier():
    payload = check_run_event("requested_action", requested_action_id="signoff")

    assert payload["requested_action"] == {"identifier": "signoff"}
    with pytest.raises(ValueError):
        check_run_event("rerequested", requested_action_id="signoff")


def test_tampered_payloads_fail_validation():
    payload = pull_request_event("opened")
    del payload["pull_request"]["user"]["login"]  # in a $ref'd schema: proves the refs resolve
    with pytest.raises(AssertionError, match="pull_request/user.*login"):
        validate("pull_request", payload)

    payload = example("ping", "payload.json")
    validate("ping", payload)
    payload["hook_id"] = "not a number"
    with pytest.raises(AssertionError, match="hook_id"):
        validate("ping", payload)


def test_examples_are_fresh_copies():
    example("pull_request", "opened.payload.json")["number"] = 1000

    assert example("pull_request", "opened.payload.json")["number"] == 2


def test_signature_matches_githubs_documented_example():
    # From GitHub's "Validating webhook deliveries" documentation.
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_delivery_is_signed_and_carries_githubs_headers():
    payload = pull_request_event("opened", body="Sign-off: ✓")
    body, headers = delivery("pull_request", payload, secret="s3cret", delivery_id="d-1")

    assert json.loads(body) == payload and "✓".encode() in body
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert headers["X-GitHub-Event"] == "pull_request" and headers["X-GitHub-Delivery"] == "d-1"
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert headers["Content-Type"] == "application/json"


def test_delivery_refuses_an_invalid_payload_unless_told_not_to_validate():
    payload = pull_request_event("opened")
    payload["action"] = "opened"
    payload["number"] = "two"

    with pytest.raises(AssertionError):
        delivery("pull_request", payload, secret="s")
    body, headers = delivery("pull_request", payload, secret="s", validate_payload=False)
    assert headers["X-GitHub-Delivery"] and json.loads(body)["number"] == "two"


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_missing_fixtures_skip_locally_and_fail_on_ci(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setattr(github_hooks, "FIXTURES_DIR", tmp_path)
    monkeypatch.setenv("CI", ci)

    with pytest.raises(outcome, match="GITHUB_FIXTURES_DIR"):
        example("pull_request", "opened.payload.json")

"""Webhook deliveries as GitHub sends them, built from octokit/webhooks' real examples.

The examples and the JSON schemas they are checked against live beside the repository, in
shared/github (or GITHUB_FIXTURES_DIR); see its README. Builders change only what a test asks
for, keep every URL and name that depends on it consistent, and validate what they return, so
a test cannot hand the bot a payload GitHub would never send.

Ids of repositories and pull requests are derived from their names (stable_id), so the same
pull request has the same ids in every event a test builds, whichever example it started from.
"""

import copy
import functools
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from tests.harness.fake_github import DEFAULT_APP_ID, node_id, stable_id, user
from tests.harness.paths import REPO_ROOT

__all__ = ["FIXTURES_DIR", "check_run_event", "delivery", "example", "installation", "label",
           "pull_request_event", "sign", "validate"]

FIXTURES_DIR = Path(os.environ.get("GITHUB_FIXTURES_DIR") or REPO_ROOT.parent / "shared" / "github")
HOOK_ID = 448_937_364
_API = "https://api.github.com"


def _fixtures() -> Path:
    """FIXTURES_DIR; skips the test if it is absent, fails it on CI.

    CI must never silently skip the webhook checks, so a missing folder is an error there.
    """
    if not (FIXTURES_DIR / "payload-schemas").is_dir():
        reason = f"GitHub webhook fixtures not found in {FIXTURES_DIR} (set GITHUB_FIXTURES_DIR to the folder)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return FIXTURES_DIR


@functools.cache
def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def example(event: str, name: str) -> dict:
    """A fresh copy of payload-examples/api.github.com/<event>/<name>."""
    return copy.deepcopy(_load(_fixtures() / "payload-examples" / "api.github.com" / event / name))


# -- schemas -------------------------------------------------------------------------------

@functools.cache
def _retrieve(uri: str) -> Resource:
    # The schemas' $ids and $refs are paths relative to payload-schemas/api.github.com
    # ("common/user.schema.json"), so a $ref resolves to the file of that name.
    path = FIXTURES_DIR / "payload-schemas" / "api.github.com" / uri
    if "://" in uri or not path.is_file():
        raise NoSuchResource(ref=uri)
    return Resource.from_contents(_load(path), default_specification=DRAFT7)


_REGISTRY = Registry(retrieve=_retrieve)


def validate(event: str, payload: dict) -> None:
    """AssertionError listing every way `payload` breaks the schema of its event and action.
    Formats (uri, date-time) are annotations in draft 7 and are not asserted."""
    action = payload.get("action")
    # Events without actions (ping, push) have one schema, event.schema.json.
    name = f"{action}.schema.json" if action else "event.schema.json"
    schema_path = _fixtures() / "payload-schemas" / "api.github.com" / event / name
    if not schema_path.is_file():
        raise AssertionError(f"GitHub sends no {event} event with action {action!r} (no {schema_path})")
    validator = Draft7Validator(_load(schema_path), registry=_REGISTRY)
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}" for e in errors[:20]]
        raise AssertionError(f"{event}.{action or 'event'} payload breaks {name} ({len(errors)} errors):\n"
                             + "\n".join(lines))


# -- deliveries ----------------------------------------------------------------------------

def sign(body: bytes, secret: str) -> str:
    """The X-Hub-Signature-256 value: sha256= and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(event: str, payload: dict, *, secret: str, delivery_id: str | None = None,
             validate_payload: bool = True, app_id: int = DEFAULT_APP_ID) -> tuple[bytes, dict[str, str]]:
    """The body bytes and headers of GitHub's POST to an App's webhook URL.

    delivery_id: keep one to play a redelivery. validate_payload=False lets a test send what
    GitHub would not (a tampered or truncated payload)."""
    if validate_payload:
        validate(event, payload)
    # GitHub sends compact JSON in UTF-8; the signature covers exactly these bytes.
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return body, {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": str(HOOK_ID),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(app_id),
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": sign(body, secret),
        "User-Agent": "GitHub-Hookshot/abc1234",
        "Content-Type": "application/json",
    }


# -- builders ------------------------------------------------------------------------------

def installation(installation_id: int) -> dict:
    """The installation an App's deliveries carry (installation-lite)."""
    return {"id": installation_id, "node_id": node_id("IntegrationInstallation", installation_id)}


def label(repo_full_name: str, name: str) -> dict:
    """A repository label, with the id and node_id the same name always gets."""
    label_id = stable_id(f"{repo_full_name}:label:{name}")
    return {"id": label_id, "node_id": node_id("Label", label_id),
            "url": f"{_API}/repos/{repo_full_name}/labels/{quote(name)}",
            "name": name, "color": "ededed", "default": False, "description": None}


# The author acts in these; in the others (labeled, closed) the sender may be anyone.
_AUTHOR_SENDS = ("opened", "reopened", "synchronize", "ready_for_review")


def pull_request_event(action: str, *, installation_id: int = 1, repo_full_name: str | None = None,
                       number: int | None = None, head_sha: str | None = None, before: str | None = None,
                       body: str | None = ..., labels: list[str] | None = None, author_login: str | None = None,
                       author_id: int | None = None, author_type: str | None = None, draft: bool | None = None,
                       merged: bool | None = None) -> dict:
    """A pull_request delivery (opened, synchronize, labeled, reopened, ready_for_review, closed)
    from octokit's example for that action. Only what is given changes; body=None is an empty
    description (GitHub sends null). before: the head before a synchronize push. labels: the
    pull's labels by name; for labeled, the last one is the label just added. Changing the
    author makes them the sender too where the author is the one acting."""
    payload = example("pull_request", f"{action}.payload.json")
    pr = payload["pull_request"]
    payload["installation"] = installation(installation_id)
    _move_repo(payload, repo_full_name or payload["repository"]["full_name"])
    full_name = payload["repository"]["full_name"]
    if number is not None:
        old = payload["number"]
        payload["number"] = pr["number"] = number
        _rewrite(pr, re.compile(rf"(/pulls?/|/issues/){old}(?!\d)"), lambda m: f"{m[1]}{number}")
    pr["id"] = stable_id(f"{full_name}#{payload['number']}")
    pr["node_id"] = node_id("PullRequest", pr["id"])
    if head_sha is not None:
        _replace_text(pr, pr["head"]["sha"], head_sha)
        if action == "synchronize":
            payload["after"] = head_sha
    if before is not None:
        if action != "synchronize":
            raise ValueError("only a synchronize event has `before`")
        payload["before"] = before
    if body is not ...:
        pr["body"] = body
    if labels is not None:
        pr["labels"] = [label(full_name, name) for name in labels]
        if action == "labeled":
            if not labels:
                raise ValueError("a labeled event needs the label just added: labels=[…, it]")
            payload["label"] = copy.deepcopy(pr["labels"][-1])
    if (author_login, author_id, author_type) != (None, None, None):
        old_author = pr["user"]
        pr["user"] = user(author_login or old_author["login"], author_id or old_author["id"],
                          author_type or old_author["type"])
        if action in _AUTHOR_SENDS:
            payload["sender"] = copy.deepcopy(pr["user"])
    if draft is not None:
        pr["draft"] = draft
    if merged is not None:
        pr["merged"] = merged
        if merged:
            closed_at = pr["closed_at"] or pr["updated_at"]
            pr.update(state="closed", closed_at=closed_at, merged_at=closed_at,
                      merged_by=copy.deepcopy(payload["sender"]),
                      merge_commit_sha=pr["merge_commit_sha"] or hashlib.sha1(f"merge {full_name}#{pr['number']}"
                                                                              .encode()).hexdigest())
        else:
            pr.update(merged_at=None, merged_by=None)
    validate("pull_request", payload)
    return payload


def check_run_event(action: str, *, installation_id: int = 1, repo_full_name: str | None = None,
                    head_sha: str | None = None, check_run_id: int | None = None,
                    name: str = "Countersign sign-off", app_id: int = DEFAULT_APP_ID,
                    requested_action_id: str | None = None, pull_numbers: list[int] | None = None) -> dict:
    """A check_run delivery (requested_action, rerequested, created, completed) from octokit's
    example. app_id: the App owning the run (GitHub sends requested_action and rerequested only
    to that App). pull_numbers: the open pull requests whose head is the run's commit."""
    payload = example("check_run", f"{action}.payload.json")
    run = payload["check_run"]
    payload["installation"] = installation(installation_id)
    _move_repo(payload, repo_full_name or payload["repository"]["full_name"])
    if head_sha is not None:
        _replace_text(run, run["head_sha"], head_sha)
    if check_run_id is not None:
        old = run["id"]
        run["id"] = check_run_id
        if "node_id" in run:
            run["node_id"] = node_id("CheckRun", check_run_id)
        _rewrite(run, re.compile(rf"(/check-runs/|/runs/){old}(?!\d)"), lambda m: f"{m[1]}{check_run_id}")
    run["name"] = name
    run["app"]["id"] = run["check_suite"]["app"]["id"] = app_id
    if requested_action_id is not None:
        if action != "requested_action":
            raise ValueError("only a requested_action event has requested_action")
        payload["requested_action"] = {"identifier": requested_action_id}
    if pull_numbers is not None:
        pulls = [_check_run_pull(payload, n) for n in pull_numbers]
        run["pull_requests"] = pulls
        run["check_suite"]["pull_requests"] = copy.deepcopy(pulls)
    validate("check_run", payload)
    return payload


def _check_run_pull(payload: dict, number: int) -> dict:
    repository = payload["repository"]
    run = payload["check_run"]
    ref = {"id": repository["id"], "url": repository["url"], "name": repository["name"]}
    return {
        "url": f"{repository['url']}/pulls/{number}",
        "id": stable_id(f"{repository['full_name']}#{number}"),
        "number": number,
        "head": {"ref": run["check_suite"].get("head_branch") or f"pr-{number}", "sha": run["head_sha"],
                 "repo": ref},
        "base": {"ref": repository["default_branch"],
                 "sha": hashlib.sha1(f"base of {repository['full_name']}#{number}".encode()).hexdigest(),
                 "repo": copy.deepcopy(ref)},
    }


def _move_repo(payload: dict, full_name: str) -> None:
    """Put the event in repository `full_name`: names, owner, URLs, and ids derived from them."""
    old_full = payload["repository"]["full_name"]
    old_owner, old_name = old_full.split("/")
    owner, name = full_name.split("/")
    if full_name != old_full:
        _rewrite(payload, re.compile(rf"(github\.com[/:]|/repos/){re.escape(old_full)}(?![\w-])"),
                 lambda m: f"{m[1]}{full_name}")
    api = f"{_API}/repos/{full_name}"
    accounts = []
    for d in list(_dicts(payload)):
        if d.get("full_name") == old_full and isinstance(d.get("owner"), dict):
            d.update(full_name=full_name, name=name, id=stable_id(full_name))
            d["node_id"] = node_id("Repository", d["id"])
            accounts.append(d["owner"])
        elif d.keys() == {"id", "url", "name"} and d["url"] == api:  # a check run's repo-ref
            d.update(name=name, id=stable_id(full_name))
        elif {"label", "ref", "user"} <= d.keys():  # a pull request's head or base
            accounts.append(d["user"])
            if owner != old_owner and d["label"] == f"{old_owner}:{d['ref']}":
                d["label"] = f"{owner}:{d['ref']}"
    if "organization" in payload:
        accounts.append(payload["organization"])
    if owner != old_owner:
        account_url = re.compile(rf"(github\.com/|/users/|/orgs/){re.escape(old_owner)}(?![\w-])")
        for account in accounts:
            if account.get("login") == old_owner:
                account["login"] = owner
                _rewrite(account, account_url, lambda m: f"{m[1]}{owner}")


def _dicts(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def _rewrite(node: Any, pattern: re.Pattern, replacement) -> None:
    """Apply pattern.sub(replacement, …) to every string inside `node`, in place."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str):
            node[key] = pattern.sub(replacement, value)
        else:
            _rewrite(value, pattern, replacement)


def _replace_text(node: Any, old: str, new: str) -> None:
    _rewrite(node, re.compile(re.escape(old)), lambda m: new)

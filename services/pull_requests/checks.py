"""A pull request head's check run as plain data, and the outbox rows that keep it in step
with the sign-off request it mirrors.

Each run's calls share an outbox channel of their own, so they reach GitHub in order, and an
update names the create (`update_of`) whose answer holds GitHub's id for the run, exactly as a
Slack update names the post whose ts it needs. A channel per repository would hold a run behind
every other run of the repository, and those behind their Slack posts: in a storm the first
decision reached GitHub minutes late. The run is created at once; the link to its Slack
thread follows on its own once the post is there. bot/github_checks.py makes the calls.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.approval import APPROVED, CANCELLED, CHANGES_REQUESTED, EXPIRED, PENDING, REJECTED
from models.github import PullRequestCheck
from services import outbox

NAME = "Countersign sign-off"
CREATE = "github.checks.create"
UPDATE = "github.checks.update"
REQUEST_ACTION = "request_signoff"  # the identifier of the check's "Request sign-off" button
_SUPPRESS = "pull_request_checks_quiet"


def channel(check: PullRequestCheck) -> str:
    """The outbox channel of one run's calls (the column holds 32 characters)."""
    return "gh:" + hashlib.sha256(check.create_key.encode()).hexdigest()[:29]


def _votes(view: dict[str, Any], decision: str) -> list[dict[str, Any]]:
    return [v for v in view.get("votes", ()) if v["decision"] == decision]


def state_of(view: dict[str, Any]) -> dict[str, Any]:
    """The check run's status, conclusion and words for a request in this state."""
    policy = view["policy"]
    groups = ", ".join(policy["approvers"])
    required = policy["required"]
    status = view["status"]
    link = f"Sign-off request #{view['id']} ({view['kind']}, {view['audience']}), revision {view['revision']}."
    if status == PENDING:
        remaining = max(0, required - view["approvals_count"])
        summary = f"waiting for {remaining} of {required} approval{'s' if required != 1 else ''} ({groups})"
        return {"status": "in_progress", "conclusion": None, "title": "Waiting for sign-off",
                "summary": summary, "text": link}
    if status == APPROVED:
        approvals = _votes(view, "approve")
        who = "; ".join(f"{v['user']}{' (' + v['group'] + ')' if v['group'] else ''} at {v['at']}"
                        + (" (break-glass)" if v["break_glass"] else "") for v in approvals)
        checklist = ", ".join(c["item"] for c in view.get("checklist_confirmed", ())) or "none"
        summary = (f"Approved by {who or 'nobody'}. Playbook version {view['playbook_version']} "
                   f"({view['playbook_hash']}). Checklist confirmed: {checklist}.")
        return {"status": "completed", "conclusion": "success", "title": "Signed off",
                "summary": summary, "text": link}
    if status in (REJECTED, CHANGES_REQUESTED):
        votes = _votes(view, "reject" if status == REJECTED else "request_changes")
        last = votes[-1] if votes else None
        reason = (last or {}).get("reason") or "no reason given"
        by = f" by {last['user']}" if last else ""
        if status == REJECTED:
            return {"status": "completed", "conclusion": "failure", "title": "Sign-off rejected",
                    "summary": f"Rejected{by}: {reason}", "text": link}
        return {"status": "completed", "conclusion": "action_required", "title": "Changes requested",
                "summary": f"Changes requested{by}: {reason}. Push the changes to ask again.",
                "text": link}
    words = {EXPIRED: ("Sign-off expired", "Nobody signed off in time; re-run the check to ask again."),
             CANCELLED: ("Sign-off cancelled", "The request was cancelled; re-run the check to ask again.")}
    title, summary = words.get(status, (f"Sign-off {status}", f"The request is {status}."))
    return {"status": "completed", "conclusion": "failure", "title": title, "summary": summary,
            "text": link}


NO_MARKERS = {"status": "completed", "conclusion": "success", "title": "No AI markers found",
              "summary": "No AI markers found: this pull request needs no sign-off. If AI wrote "
                         "part of it, press Request sign-off.", "text": None}
DRAFT = {"status": "in_progress", "conclusion": None, "title": "Draft",
         "summary": "A draft: sign-off is asked for once it is ready for review.", "text": None}


def payload(check: PullRequestCheck, state: dict[str, Any] | None, *,
            message_key: str | None) -> dict[str, Any]:
    owner, _, name = check.repository.partition("/")
    return {"owner": owner, "repo": name, "installation_id": check.installation_id,
            "head_sha": check.head_sha, "number": check.number, "url": check.url,
            "external_id": f"countersign:{check.id}", "name": NAME, "state": state,
            "slack_message_key": message_key,
            # Only a run that asks nobody offers the button: one that waits already asked.
            "offer_request": check.request_id is None}


def create(session: Session, check: PullRequestCheck, state: dict[str, Any], *, now: datetime,
           message_key: str | None = None) -> None:
    outbox.owe(session, key=check.create_key, method=CREATE, channel=channel(check),
               payload=payload(check, state, message_key=message_key), now=now)
    if message_key is not None:
        # Once the request is posted, its permalink becomes the run's details link. Only the
        # link (no state: later updates keep it), so it may go out of turn.
        outbox.owe(session, key=f"{_base(check)}:link", method=UPDATE, update_of=check.create_key,
                   thread_of=message_key, payload=payload(check, None, message_key=message_key),
                   now=now)


def update(session: Session, check: PullRequestCheck, state: dict[str, Any], *, suffix: str,
           now: datetime, message_key: str | None = None) -> None:
    outbox.owe(session, key=f"{_base(check)}:{suffix}", method=UPDATE, channel=channel(check),
               update_of=check.create_key, payload=payload(check, state, message_key=message_key),
               now=now)


def _base(check: PullRequestCheck) -> str:
    return check.create_key[:-len(":create")]


def key_for(repository: str, head_sha: str, *, run: str = "first") -> str:
    """The outbox key of the create of one check run of a head (`run` names which)."""
    digest = hashlib.sha256(f"{repository.lower()}@{head_sha}".encode()).hexdigest()[:32]
    return f"github:check:{digest}:{run}:create"


def quietly(session: Session) -> None:
    """The request changes that follow are the flow's own: it writes the check itself."""
    session.info[_SUPPRESS] = True


def loud(session: Session) -> None:
    session.info.pop(_SUPPRESS, None)


def request_changed(session: Session, request: Any, view: dict[str, Any], *, suffix: str,
                    now: datetime) -> None:
    """Every change of a sign-off request: the check run of its pull request's newest head
    says so. Requests of no pull request have no check and cost one indexed query."""
    if session.info.get(_SUPPRESS):
        return
    check = session.exec(select(PullRequestCheck).where(PullRequestCheck.request_id == request.id)
                         .order_by(col(PullRequestCheck.id).desc()).limit(1)).first()
    if check is None:
        return
    update(session, check, state_of(view), suffix=f"{suffix}:v{request.state_version}", now=now,
           message_key=request.message_key)

"""What a pull request event means for sign-off, in one transaction of the caller's.

An AI-made pull request (markers.find), or any in a repository whose every pull request needs
sign-off, gets a sign-off request whose reference is its URL; each head commit gets a check
run mirroring that request. A push makes a new revision (dismissing earlier approvals unless
the playbook keeps them) and a new check on the new head; a pull request closed unmerged
cancels its request. A pull request without markers gets a passing check saying so, so the
check can be required on every pull request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.approval import OPEN_STATUSES, ApprovalRequest
from models.github import PullRequestCheck
from services import approvals
from services.approvals.limits import AI_TOOL_MAX, SUMMARY_MAX, TITLE_MAX
from services.inputs import without_controls
from services.playbook.loader import LoadedPlaybook
from services.rows import insert_unless_exists

from . import checks, markers
from .markers import Commit, PullRequest

SYSTEM_ACTOR = "countersign"
# Actions that ask afresh even for a head whose request was refused or ran out.
ASKING_AGAIN = ("reopened", "rerequested", "requested")
EVALUATED = ("opened", "reopened", "ready_for_review", "labeled", "synchronize", "edited",
             "rerequested", "requested")


@dataclass(frozen=True)
class Outcome:
    result: str  # what happened, in a few words (kept on the delivery)
    request_id: int | None = None


def pull_request_changed(session: Session, *, playbook: LoadedPlaybook, action: str, pr: PullRequest,
                         installation_id: int, commits: Sequence[Commit], now: datetime,
                         group_members: approvals.GroupMembers, declared_by: str | None = None,
                         ) -> Outcome:
    """`declared_by`: someone pressed the check's "Request sign-off" (their login)."""
    github = playbook.playbook.github
    if github is None:
        return Outcome("ignored: the playbook has no github section")
    if not github.covers(pr.repository):
        return Outcome(f"ignored: {pr.repository} is not in github.repositories")
    _one_at_a_time(session, pr)
    request = _latest_request(session, pr.url)
    if action == "closed":
        return _closed(session, pr, request, now=now)
    if action not in EVALUATED:
        return Outcome(f"ignored: pull_request {action}")
    check = session.exec(select(PullRequestCheck).where(
        PullRequestCheck.repository == pr.repository, PullRequestCheck.head_sha == pr.head_sha)).first()
    if pr.draft and github.drafts_wait and declared_by is None:
        if check is None:
            check = _new_check(session, pr, installation_id, request_id=None, found=[], now=now)
            if check is not None:
                checks.create(session, check, checks.DRAFT, now=now)
        return Outcome("draft: waits for ready for review")
    found = markers.find(github.markers, pr, commits)
    if declared_by is not None:
        found.add(f"sign-off requested from GitHub by {declared_by}")
    asked = request is not None and request.status in approvals.RESUBMITTABLE
    if not (found.markers or github.every_pull_request(pr.repository) or asked):
        if check is None:
            check = _new_check(session, pr, installation_id, request_id=None, found=[], now=now)
            if check is not None:
                checks.create(session, check, checks.NO_MARKERS, now=now)
        return Outcome("no AI markers found")
    reasons = found.markers or ["every pull request of this repository needs sign-off"]
    checks.quietly(session)  # the check written below says what this change did
    try:
        request, result = _ask(session, playbook, pr, request, check, action=action,
                               reasons=reasons, tool=found.tool, now=now,
                               group_members=group_members)
    finally:
        checks.loud(session)
    if request is None:
        return Outcome(result)
    view = approvals.request_view(session, request)
    if check is None:
        check = _new_check(session, pr, installation_id, request_id=request.id, found=reasons, now=now)
        if check is not None:
            checks.create(session, check, checks.state_of(view), now=now, message_key=request.message_key)
    elif check.request_id != request.id:
        # A new run rather than an update of the finished one: GitHub expects a re-run to be a
        # new check run, and a completed run cannot go back to in progress.
        check.request_id = request.id
        check.markers = reasons
        check.create_key = checks.key_for(pr.repository, pr.head_sha, run=f"r{request.id}")
        session.add(check)
        session.flush()
        checks.create(session, check, checks.state_of(view), now=now, message_key=request.message_key)
    return Outcome(result, request.id)


def _ask(session: Session, playbook: LoadedPlaybook, pr: PullRequest, request: ApprovalRequest | None,
         check: PullRequestCheck | None, *, action: str, reasons: list[str], tool: str | None,
         now: datetime, group_members: approvals.GroupMembers) -> tuple[ApprovalRequest | None, str]:
    github = playbook.playbook.github
    assert github is not None
    summary = _summary(pr, reasons)
    if request is None or request.status not in approvals.RESUBMITTABLE:
        if request is not None and check is not None and action not in ASKING_AGAIN:
            return None, f"request {request.id} is {request.status} for this head; not asking again"
        opened = approvals.open_request(
            session, playbook=playbook, kind=github.kind, audience=github.audience,
            title=_clip(f"{pr.repository}#{pr.number}: {pr.title}", TITLE_MAX), reference=pr.url,
            requester=github.slack_user(pr.author_id, pr.author_login) or SYSTEM_ACTOR, now=now,
            group_members=group_members, ai_tool=_clip(tool, AI_TOOL_MAX) if tool else None,
            summary=summary)
        return opened, f"opened request {opened.id}"
    if check is not None:
        return request, f"request {request.id} already asks for this head"
    if not github.dismiss_on_push:
        return request, f"request {request.id} kept for the new head (dismiss_on_push is off)"
    decision = approvals.resubmit(session, request_id=request.id, user=request.requester, now=now,
                                  group_members=group_members, summary=summary,
                                  note=f"New commits pushed: the head is now {pr.head_sha[:7]}.")
    return decision.request, f"request {request.id} resubmitted as revision {decision.request.revision}"


def _closed(session: Session, pr: PullRequest, request: ApprovalRequest | None, *, now: datetime) -> Outcome:
    if pr.merged:
        return Outcome("merged")
    if request is None or request.status not in OPEN_STATUSES:
        return Outcome("closed; no open request")
    approvals.cancel(session, request_id=request.id, user=request.requester, now=now, is_admin=True,
                     reason="The pull request was closed without being merged.")
    return Outcome(f"closed unmerged: request {request.id} cancelled", request.id)


def _one_at_a_time(session: Session, pr: PullRequest) -> None:
    """Two clocks working on two deliveries of one pull request (opened and labeled, a second
    apart) would each find no request and open one: on PostgreSQL the second waits here until
    the first commits. SQLite has one writer at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"countersign:pull:{pr.repository.lower()}#{pr.number}"})


def _latest_request(session: Session, url: str) -> ApprovalRequest | None:
    return session.exec(select(ApprovalRequest).where(
        ApprovalRequest.ref_key == approvals.normalize_ref(url))
        .order_by(col(ApprovalRequest.id).desc()).limit(1)).first()


def _new_check(session: Session, pr: PullRequest, installation_id: int, *, request_id: int | None,
               found: list[str], now: datetime) -> PullRequestCheck | None:
    """The head's check row; None when another process wrote it first (it owes the run)."""
    key = checks.key_for(pr.repository, pr.head_sha)
    if not insert_unless_exists(session, PullRequestCheck, {
        "repository": pr.repository, "number": pr.number, "installation_id": installation_id,
        "head_sha": pr.head_sha, "url": pr.url, "request_id": request_id, "markers": found,
        "created_at": now, "create_key": key}, unique=["repository", "head_sha"]):
        return None
    return session.exec(select(PullRequestCheck).where(PullRequestCheck.create_key == key)).one()


def _summary(pr: PullRequest, reasons: Sequence[str]) -> str:
    author = pr.author_login or "an unknown author"
    size = ""
    if pr.additions is not None and pr.deletions is not None:
        size = f", +{pr.additions}/−{pr.deletions}"
        if pr.changed_files is not None:
            size += f" in {pr.changed_files} file{'s' if pr.changed_files != 1 else ''}"
    lines = [f"Pull request by {author}{size}, head {pr.head_sha[:7]}.",
             "AI markers: " + "; ".join(markers.shown(reasons)) + "."]
    return _clip("\n".join(lines), SUMMARY_MAX)


def _clip(text: str, limit: int) -> str:
    text = without_controls(text).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"

"""The pull request flow against a real database: which events ask for sign-off, what each
head's check run says, and what a push, a label, a close or a re-run does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import col, select

from models.approval import ApprovalRequest
from models.outbox import OutboxMessage
from services import approvals
from services.playbook import load_playbook_text
from services.pull_requests import checks, flow
from services.pull_requests.markers import Commit, PullRequest

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLAYBOOK = """
version: 1
timezone: UTC
admins: [U0ADMIN]
groups:
  reviewers: {members: [U0REV1, U0REV2, U0REV3]}
channels: {governance: C0GOV, approvals: C0APPROVE}
approvals:
  pair: {approvers: [reviewers], required: 2}
github:
  repositories: ["acme/*"]
  kind: pair
  all_pull_requests: ["acme/assistant"]
  markers: {labels: [ai-generated]}
  people: {"583231": U0REV1}
"""
PB = load_playbook_text(PLAYBOOK)
MEMBERS = {"reviewers": ["U0REV1", "U0REV2", "U0REV3"]}
PR = PullRequest(repository="acme/api", number=7, url="https://github.com/acme/api/pull/7",
                 title="Retry billing", head_sha="a" * 40, author_login="octocat", author_id=583231,
                 additions=12, deletions=3, changed_files=2)
CLAUDE = [Commit(sha="a" * 40, message="Retry\n\nCo-authored-by: Claude <noreply@anthropic.com>")]
PLAIN = [Commit(sha="a" * 40, message="Retry billing")]


def event(db, action: str, pr: PullRequest = PR, commits=CLAUDE, *, playbook=PB, now=T0,
          declared_by=None) -> flow.Outcome:
    with db.session() as s:
        return flow.pull_request_changed(s, playbook=playbook, action=action, pr=pr, installation_id=9,
                                         commits=commits, now=now, group_members=MEMBERS,
                                         declared_by=declared_by)


def github_rows(db) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.exec(select(OutboxMessage).where(col(OutboxMessage.method).startswith("github."))
                           .order_by(col(OutboxMessage.id))).all())


def check_rows(db) -> list[OutboxMessage]:
    """The calls that set a run's state (the links to Slack threads aside)."""
    return [m for m in github_rows(db) if m.payload["state"] is not None]


def requests(db) -> list[ApprovalRequest]:
    with db.session() as s:
        return list(s.exec(select(ApprovalRequest).order_by(col(ApprovalRequest.id))).all())


def test_an_ai_pull_request_opens_a_request_and_a_waiting_check(db):
    outcome = event(db, "opened")
    [request] = requests(db)
    assert outcome.request_id == request.id and request.reference == PR.url
    assert request.title == "acme/api#7: Retry billing" and request.requester == "U0REV1"
    assert "Pull request by octocat, +12/−3 in 2 files, head aaaaaaa." in request.summary
    assert "Co-authored-by: Claude <noreply@anthropic.com>" in request.summary
    assert request.ai_tool == "Claude"
    [create] = check_rows(db)
    assert create.method == checks.CREATE and create.channel.startswith("gh:")
    assert create.thread_of is None  # created at once; the link follows the Slack post
    [link] = [m for m in github_rows(db) if m.payload["state"] is None]
    assert (link.update_of, link.thread_of, link.channel) == (create.key, request.message_key, None)
    assert create.payload["state"] == {"status": "in_progress", "conclusion": None,
                                       "title": "Waiting for sign-off",
                                       "summary": "waiting for 2 of 2 approvals (reviewers)",
                                       "text": f"Sign-off request #{request.id} (pair, internal), revision 1."}
    assert create.payload["offer_request"] is False


def test_each_decision_updates_the_check_and_the_author_cannot_approve(db):
    event(db, "opened")
    [request] = requests(db)
    with db.session() as s:
        own = approvals.decide(s, request_id=request.id, revision=1, user="U0REV1", decision="approve",
                               now=T0, group_members=MEMBERS, governance_channel="C0GOV")
    assert own.outcome == "denied"
    for user in ("U0REV2", "U0REV3"):
        with db.session() as s:
            approvals.decide(s, request_id=request.id, revision=1, user=user, decision="approve",
                             now=T0, group_members=MEMBERS, governance_channel="C0GOV")
    updates = [m for m in check_rows(db) if m.method == checks.UPDATE]
    assert [u.payload["state"]["summary"].split(".")[0] for u in updates] == [
        "waiting for 1 of 2 approvals (reviewers)", "Approved by U0REV2 (reviewers) at "
        "2026-03-02T09:00:00+00:00; U0REV3 (reviewers) at 2026-03-02T09:00:00+00:00"]
    assert updates[-1].payload["state"]["conclusion"] == "success"
    assert all(u.update_of == check_rows(db)[0].key for u in updates)


def test_a_push_resubmits_dismissing_approvals_and_checks_the_new_head(db):
    event(db, "opened")
    [request] = requests(db)
    with db.session() as s:
        approvals.decide(s, request_id=request.id, revision=1, user="U0REV2", decision="approve",
                         now=T0, group_members=MEMBERS, governance_channel="C0GOV")
    pushed = replace(PR, head_sha="b" * 40)
    outcome = event(db, "synchronize", pushed, [*CLAUDE, Commit(sha="b" * 40, message="Fix")])
    assert outcome.result == f"request {request.id} resubmitted as revision 2"
    [again] = requests(db)
    assert again.revision == 2 and again.status == "pending"
    creates = [m for m in check_rows(db) if m.method == checks.CREATE]
    assert [c.payload["head_sha"] for c in creates] == ["a" * 40, "b" * 40]
    assert creates[-1].payload["state"]["summary"] == "waiting for 2 of 2 approvals (reviewers)"
    # The same push delivered again changes nothing.
    event(db, "synchronize", pushed, [*CLAUDE, Commit(sha="b" * 40, message="Fix")])
    assert requests(db)[0].revision == 2 and len(check_rows(db)) == len(creates) + 1


def test_a_push_keeps_approvals_when_the_playbook_says_so(db):
    keep = load_playbook_text(PLAYBOOK.replace("  kind: pair\n", "  kind: pair\n  dismiss_on_push: false\n"))
    event(db, "opened", playbook=keep)
    outcome = event(db, "synchronize", replace(PR, head_sha="b" * 40), playbook=keep)
    assert "kept for the new head" in outcome.result and requests(db)[0].revision == 1


def test_an_unmarked_pull_request_passes_and_a_label_later_asks_in_a_new_run(db):
    assert event(db, "opened", commits=PLAIN).result == "no AI markers found"
    assert requests(db) == []
    [create] = check_rows(db)
    assert create.payload["state"]["conclusion"] == "success" and create.payload["offer_request"]
    event(db, "labeled", replace(PR, labels=("ai-generated",)), PLAIN)
    [request] = requests(db)
    assert "label ai-generated" in request.summary
    creates = [m for m in check_rows(db) if m.method == checks.CREATE]
    assert len(creates) == 2 and creates[1].payload["state"]["status"] == "in_progress"
    assert creates[1].payload["offer_request"] is False


def test_the_request_sign_off_button_counts_as_a_declaration(db):
    event(db, "opened", commits=PLAIN)
    outcome = event(db, "requested", commits=PLAIN, declared_by="octocat")
    [request] = requests(db)
    assert outcome.request_id == request.id
    assert "sign-off requested from GitHub by octocat" in request.summary


def test_every_pull_request_of_an_ai_feature_repository_needs_sign_off(db):
    feature = replace(PR, repository="acme/assistant", url="https://github.com/acme/assistant/pull/1")
    event(db, "opened", feature, PLAIN)
    [request] = requests(db)
    assert "every pull request of this repository needs sign-off" in request.summary


def test_drafts_wait_and_ready_for_review_asks(db):
    assert event(db, "opened", replace(PR, draft=True)).result == "draft: waits for ready for review"
    assert requests(db) == []
    event(db, "ready_for_review")
    assert len(requests(db)) == 1


def test_closed_unmerged_cancels_and_fails_the_check_merged_changes_nothing(db):
    event(db, "opened")
    assert event(db, "closed", replace(PR, merged=True)).result == "merged"
    outcome = event(db, "closed")
    assert "cancelled" in outcome.result and requests(db)[0].status == "cancelled"
    last = check_rows(db)[-1]
    assert last.method == checks.UPDATE and last.payload["state"]["conclusion"] == "failure"


def test_a_rejected_head_is_not_asked_again_until_a_push_or_a_re_run(db):
    event(db, "opened")
    [request] = requests(db)
    with db.session() as s:
        approvals.decide(s, request_id=request.id, revision=1, user="U0REV2", decision="reject",
                         reason="Leaks a token", now=T0, group_members=MEMBERS, governance_channel="C0GOV")
    assert "not asking again" in event(db, "labeled").result
    assert len(requests(db)) == 1
    event(db, "rerequested")
    assert [r.status for r in requests(db)] == ["rejected", "pending"]


def test_repositories_outside_the_playbook_and_playbooks_without_github_are_ignored(db):
    assert event(db, "opened", replace(PR, repository="other/api")).result.startswith("ignored")
    no_github = load_playbook_text(PLAYBOOK.split("github:")[0])
    assert event(db, "opened", playbook=no_github).result.startswith("ignored")
    assert requests(db) == [] and check_rows(db) == []


def test_hostile_titles_are_kept_as_text(db):
    event(db, "opened", replace(PR, title="<!channel> \x07 " + "x" * 400))
    [request] = requests(db)
    assert request.title.startswith("acme/api#7: <!channel>   x") and len(request.title) == 150


def test_changes_requested_asks_for_action_and_a_push_asks_again(db):
    event(db, "opened")
    [request] = requests(db)
    with db.session() as s:
        approvals.decide(s, request_id=request.id, revision=1, user="U0REV2", decision="request_changes",
                         reason="Add a test for the retry cap", now=T0, group_members=MEMBERS,
                         governance_channel="C0GOV")
    last = check_rows(db)[-1]
    assert last.payload["state"]["conclusion"] == "action_required"
    assert last.payload["state"]["summary"] == ("Changes requested by U0REV2: Add a test for the retry "
                                                "cap. Push the changes to ask again.")
    event(db, "synchronize", replace(PR, head_sha="c" * 40))
    assert requests(db)[0].status == "pending" and requests(db)[0].revision == 2
    assert check_rows(db)[-1].payload["state"]["status"] == "in_progress"

"""On PostgreSQL, two clocks working on two deliveries of one pull request at the same instant
make one sign-off request and one check run for its head."""

from dataclasses import replace

import pytest
from sqlmodel import col, func, select
from test_pull_request_flow import MEMBERS, PB, PR, CLAUDE

from models.approval import ApprovalRequest
from models.github import PullRequestCheck
from models.outbox import OutboxMessage
from services.pull_requests import flow
from tests.harness.race import race

pytestmark = pytest.mark.postgres

ROUNDS = 20


def deliver(db, action, pr):
    from test_pull_request_flow import T0

    with db.session() as s:
        return flow.pull_request_changed(s, playbook=PB, action=action, pr=pr, installation_id=9,
                                         commits=CLAUDE, now=T0, group_members=MEMBERS)


def test_two_deliveries_of_one_pull_request_at_once_ask_once(pg_db):
    for round_ in range(ROUNDS):
        pr = replace(PR, number=round_ + 1, url=f"https://github.com/acme/api/pull/{round_ + 1}",
                     head_sha=f"{round_:040x}")
        race([lambda: deliver(pg_db, "opened", pr), lambda: deliver(pg_db, "labeled", pr)])
        with pg_db.session() as s:
            requests = s.exec(select(func.count()).select_from(ApprovalRequest)
                              .where(ApprovalRequest.reference == pr.url)).one()
            checks = s.exec(select(func.count()).select_from(PullRequestCheck)
                            .where(PullRequestCheck.head_sha == pr.head_sha)).one()
            creates = s.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.method == "github.checks.create",
                col(OutboxMessage.payload)["head_sha"].as_string() == pr.head_sha)).one()
        assert (requests, checks, creates) == (1, 1, 1), f"round {round_}"

"""Anything not signed by Slack with our secret, recently, over exactly this body → 401."""

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from models.inbound import InboundDelivery
from models.outbox import OutboxMessage


@pytest.mark.parametrize("signing", ["unsigned", "forged", "stale", "tampered"])
@pytest.mark.parametrize("kind", ["command", "event", "block_action"])
def test_badly_signed_requests_are_refused_and_change_nothing(slack, fake_slack, db, signing, kind):
    if kind == "command":
        resp = slack.command("/ai-approve", "help", signing=signing)
    elif kind == "event":
        resp = slack.event({"type": "app_home_opened", "user": "U0USER", "tab": "home"},
                           signing=signing)
    else:
        resp = slack.block_action("approve", value="1", signing=signing)
    assert resp.status_code == 401
    assert "Countersign" not in resp.text
    with db.session() as s:
        assert s.exec(select(InboundDelivery)).all() == []
        assert s.exec(select(AuditEvent)).all() == []
        assert s.exec(select(OutboxMessage)).all() == []
    # Only the start-up look-ups of the playbook's user groups; nothing the request caused.
    startup_reads = {"auth.test", "usergroups.users.list"}
    assert [c.method for c in fake_slack.calls if c.method not in startup_reads] == []


def test_the_same_request_properly_signed_is_accepted(slack):
    assert slack.command("/ai-approve", "help").status_code == 200

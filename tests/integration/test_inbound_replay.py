"""What a dead process left of the Slack requests it acknowledged: found for a replay while it
keeps the request, and settled in the very transaction of the listener's state change, so a
replay after that commit has nothing to do."""

from datetime import UTC, datetime, timedelta

import pytest

from handlers.middleware import HANDLING, Handling, settle_with_state_change, settled_with_state_change
from models.inbound import DONE, STARTED, InboundDelivery
from services import audit, inbound

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=45)
FORM = "application/x-www-form-urlencoded"


def claim(db, key, owner="hostA:101:boot1:c1", now=T0, body="command=%2Fai-approve"):
    with db.session() as s:
        return inbound.claim(s, key=key, owner=owner, now=now, lease=LEASE, body=body,
                             content_type=FORM)


def abandoned(db, now):
    with db.session() as s:
        return inbound.abandoned(s, now=now)


def row(db, key):
    with db.session() as s:
        return s.get(InboundDelivery, key)


def test_abandoned_lists_what_a_dead_holder_left_with_its_request(db):
    claim(db, "trigger:released", owner="hostA:101:boot1:c1")
    claim(db, "trigger:working", owner="hostA:102:boot1:c2")
    claim(db, "trigger:expired", owner="hostB:7:boot1:c3")
    claim(db, "trigger:done", owner="hostA:103:boot1:c4")
    claim(db, "trigger:failed", owner="hostA:104:boot1:c5")
    claim(db, "trigger:nobody", owner="hostA:101:boot1:c6", body=None)
    with db.session() as s:
        inbound.settle(s, key="trigger:done", owner="hostA:103:boot1:c4", completed=True)
        inbound.settle(s, key="trigger:failed", owner="hostA:104:boot1:c5", completed=False)
        inbound.release_orphans(s, host="hostA", gone=lambda owner: ":101:" in owner)
    soon = T0 + timedelta(seconds=5)
    assert abandoned(db, soon) == [("trigger:released", "command=%2Fai-approve", FORM)]
    # Past the lease, a holder on another host counts as gone too (it cannot be seen from here).
    assert [k for k, _, _ in abandoned(db, T0 + LEASE)] == [
        "trigger:expired", "trigger:released", "trigger:working"]
    # But not a holder seen running on this host: a lease runs on the injected clock, which
    # can jump forward while the listener is still at work (replaying it would do it twice).
    with db.session() as s:
        seen_running = inbound.abandoned(s, now=T0 + LEASE, alive=lambda o: ":102:" in o)
    assert [k for k, _, _ in seen_running] == ["trigger:expired", "trigger:released"]
    # A failed listener's delivery waits for Slack's retry: its copy of the request is gone.
    assert (row(db, "trigger:failed").body, row(db, "trigger:done").body) == (None, None)


def test_an_abandoned_request_is_replayed_however_late(db):
    # The person had their ack; the bot down for hours must still do what they asked.
    claim(db, "trigger:old")
    assert [k for k, _, _ in abandoned(db, T0 + timedelta(hours=6))] == ["trigger:old"]


def test_a_replay_takes_the_claim_over_once(db):
    claim(db, "trigger:x", owner="hostA:101:boot1:c1")
    with db.session() as s:
        inbound.release_orphans(s, host="hostA", gone=lambda owner: ":101:" in owner)
    assert claim(db, "trigger:x", owner="hostA:200:boot2:r1", now=T0 + timedelta(seconds=1))
    assert not claim(db, "trigger:x", owner="hostA:200:boot2:r2", now=T0 + timedelta(seconds=2))
    assert abandoned(db, T0 + timedelta(seconds=3)) == []


@pytest.fixture
def handling(db):
    db.before_commit(settle_with_state_change)
    db.on_commit(settled_with_state_change)
    claim(db, "trigger:h", owner="me")
    current = Handling("trigger:h", "me")
    token = HANDLING.set(current)
    yield current
    HANDLING.reset(token)


def change(db, fail=False):
    with db.session() as s:
        audit.append(s, at=T0, actor="U0DEV", action="approval.requested", entity_type="approval_request",
                     entity_id="1", payload={})
        if fail:
            raise RuntimeError("the state change failed")


def test_the_listeners_state_change_settles_its_delivery_in_the_same_transaction(db, handling):
    with db.session() as s:  # a read is no state change
        inbound.abandoned(s, now=T0)
    assert row(db, "trigger:h").status == STARTED
    with pytest.raises(RuntimeError):
        change(db, fail=True)
    assert row(db, "trigger:h").status == STARTED and not handling.settled  # rolled back together
    change(db)
    assert (row(db, "trigger:h").status, row(db, "trigger:h").body) == (DONE, None)
    assert handling.settled
    with db.session() as s:  # the listener's own end says done again: fine
        assert inbound.settle(s, key="trigger:h", owner="me", completed=False)
    assert row(db, "trigger:h").status == DONE

"""Slack deliveries: claimed while handled, settled after; a redelivery is dropped only while
the first is done or still (within its lease) working."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.inbound import DONE, RELEASED, STARTED, InboundDelivery
from services import inbound
from tests.harness.race import race

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=45)


def claim(db, owner, now=T0, key="event:Ev1"):
    with db.session() as s:
        return inbound.claim(s, key=key, owner=owner, now=now, lease=LEASE)


def settle(db, owner, completed, key="event:Ev1"):
    with db.session() as s:
        return inbound.settle(s, key=key, owner=owner, completed=completed)


def row(db, key="event:Ev1"):
    with db.session() as s:
        return s.get(InboundDelivery, key)


def test_a_redelivery_of_a_completed_delivery_is_dropped(db):
    assert claim(db, "a")
    assert settle(db, "a", completed=True)
    assert row(db).status == DONE
    assert not claim(db, "b", now=T0 + 2 * LEASE)


def test_a_redelivery_while_the_first_still_works_is_dropped(db):
    assert claim(db, "a")
    assert not claim(db, "b", now=T0 + LEASE - timedelta(seconds=1))
    assert row(db).owner == "a"


def test_a_redelivery_past_the_lease_takes_it_over_and_the_old_owner_changes_nothing(db):
    assert claim(db, "a")
    assert claim(db, "b", now=T0 + LEASE)
    assert (row(db).status, row(db).owner) == (STARTED, "b")
    assert not settle(db, "a", completed=True)  # lost its lease: its end says nothing
    assert row(db).status == STARTED
    assert settle(db, "b", completed=True)
    assert row(db).status == DONE


def test_a_failed_listener_releases_the_delivery_for_the_redelivery(db):
    assert claim(db, "a")
    assert settle(db, "a", completed=False)
    assert row(db).status == RELEASED
    assert claim(db, "b", now=T0 + timedelta(seconds=1))
    assert (row(db).status, row(db).owner) == (STARTED, "b")


def test_a_long_key_is_claimed_and_settled_by_its_stored_prefix(db):
    key = "trigger:" + "x" * 500
    assert claim(db, "a", key=key)
    assert not claim(db, "b", key=key)
    assert settle(db, "a", completed=True, key=key)


def test_concurrent_redeliveries_past_the_lease_hand_it_to_exactly_one(pg_db):
    assert claim(pg_db, "first")
    later = T0 + LEASE + timedelta(seconds=1)
    won = race([lambda i=i: claim(pg_db, f"retry-{i}", now=later) for i in range(8)])
    assert won.count(True) == 1
    assert row(pg_db).owner == f"retry-{won.index(True)}"


def test_concurrent_first_deliveries_are_taken_once(pg_db):
    won = race([lambda i=i: claim(pg_db, f"p{i}", key="event:Race") for i in range(8)])
    assert won.count(True) == 1
    with pg_db.session() as s:
        assert len(s.exec(select(InboundDelivery)).all()) == 1


def test_a_starting_process_releases_what_a_dead_process_of_its_host_held(db):
    assert claim(db, "hostA:101:boot1:c1", key="event:Dead")
    assert claim(db, "hostA:102:boot1:c2", key="event:Alive")
    assert claim(db, "hostB:101:boot1:c3", key="event:Elsewhere")
    assert claim(db, "hostA:103:boot1:c4", key="event:Done")
    assert settle(db, "hostA:103:boot1:c4", completed=True, key="event:Done")
    with db.session() as s:
        released = inbound.release_orphans(s, host="hostA", gone=lambda owner: ":101:" in owner)
    assert released == 1
    assert row(db, "event:Dead").status == RELEASED
    assert claim(db, "hostA:104:boot2:c5", key="event:Dead")  # the redelivery is taken at once
    assert [row(db, k).status for k in ("event:Alive", "event:Elsewhere", "event:Done")] == [
        STARTED, STARTED, DONE]

"""The outbox's row discipline: owed once, claimed once, in order per channel."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models.outbox import FAILED, PENDING, SENDING, SENT, OutboxMessage
from services import outbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def owe(db, key, channel="C1", **kw):
    with db.session() as s:
        outbox.enqueue(s, key=key, method="chat.postMessage", channel=channel,
                       payload={"text": key}, now=kw.pop("now", T0), **kw)


def claim(db, now=T0, owner="w1", limit=50):
    with db.session() as s:
        return outbox.claim_due(s, now=now, owner=owner, lease=LEASE, limit=limit)


def test_same_key_is_owed_once(db):
    owe(db, "k1")
    owe(db, "k1")
    with db.session() as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_enqueue_marks_the_session_so_the_dispatcher_can_be_woken(db):
    with db.session() as s:
        outbox.enqueue(s, key="k", method="chat.postMessage", payload={}, now=T0)
        assert outbox.enqueued_in(s) is True
        assert outbox.enqueued_in(s) is False


def test_not_due_is_not_claimed(db):
    owe(db, "later", now=T0 + timedelta(minutes=5))
    assert claim(db) == []
    assert [m.key for m in claim(db, now=T0 + timedelta(minutes=5))] == ["later"]


def test_a_claimed_row_is_not_claimed_again(db):
    owe(db, "k1")
    first = claim(db, owner="w1")
    second = claim(db, owner="w2")
    assert [m.key for m in first] == ["k1"]
    assert first[0].status == SENDING and first[0].attempts == 1
    assert second == []


def test_fifo_per_channel_but_channels_are_independent(db):
    owe(db, "a1", channel="CA")
    owe(db, "a2", channel="CA")
    owe(db, "b1", channel="CB")
    assert sorted(m.key for m in claim(db)) == ["a1", "b1"]
    with db.session() as s:
        a1 = s.exec(select(OutboxMessage).where(OutboxMessage.key == "a1")).one()
        outbox.mark_sent(s, a1.id, owner="w1", now=T0, channel="CA", ts="1.1")
    assert [m.key for m in claim(db)] == ["a2"]


def test_a_busy_channel_takes_one_place_in_a_round_and_the_others_get_theirs(db):
    for n in range(60):
        owe(db, f"busy{n}", channel="CBUSY")
    for channel in ("D1", "D2", "D3"):
        owe(db, f"dm-{channel}", channel=channel)
    owe(db, "no-channel", channel=None)
    assert sorted(m.key for m in claim(db, limit=50)) == ["busy0", "dm-D1", "dm-D2", "dm-D3", "no-channel"]
    # Delivered history is no obstacle: once busy0 is sent, busy1 is that channel's next.
    with db.session() as s:
        busy0 = s.exec(select(OutboxMessage).where(OutboxMessage.key == "busy0")).one()
        outbox.mark_sent(s, busy0.id, owner="w1", now=T0, channel="CBUSY", ts="1.1")
    assert [m.key for m in claim(db)] == ["busy1"]


def test_a_backing_off_message_holds_back_later_ones_to_its_channel(db):
    owe(db, "a1", channel="CA")
    owe(db, "a2", channel="CA")
    [a1] = claim(db)
    with db.session() as s:
        outbox.mark_retry(s, a1.id, owner="w1", at=T0 + timedelta(seconds=30), error="HTTP 500",
                          maybe_sent=True)
    assert claim(db, now=T0 + timedelta(seconds=1)) == []
    [again] = claim(db, now=T0 + timedelta(seconds=30))
    assert again.key == "a1" and again.maybe_sent and again.attempts == 2


def test_reply_waits_for_its_parent(db):
    owe(db, "parent", channel="CA")
    owe(db, "reply", channel="CB", thread_of="parent")
    assert [m.key for m in claim(db)] == ["parent"]
    with db.session() as s:
        p = outbox.parent_result(s, "parent")
        outbox.mark_sent(s, p.id, owner="w1", now=T0, channel="CA", ts="111.222")
    assert [m.key for m in claim(db)] == ["reply"]


def test_expired_lease_is_reclaimed_as_maybe_sent(db):
    owe(db, "k1")
    claim(db, owner="dead")
    assert claim(db, now=T0 + LEASE - timedelta(seconds=1), owner="w2") == []
    [row] = claim(db, now=T0 + LEASE + timedelta(seconds=1), owner="w2")
    assert row.maybe_sent is True and row.claimed_by == "w2" and row.attempts == 2


def test_outcome_is_recorded_only_by_the_current_claimer(db):
    owe(db, "k1")
    [row] = claim(db, owner="dead")
    claim(db, now=T0 + LEASE + timedelta(seconds=1), owner="w2")
    with db.session() as s:
        assert outbox.mark_sent(s, row.id, owner="dead", now=T0, channel="C1", ts="1.0") is False
        assert outbox.mark_sent(s, row.id, owner="w2", now=T0, channel="C1", ts="2.0") is True
    with db.session() as s:
        final = s.get(OutboxMessage, row.id)
        assert (final.status, final.result_ts) == (SENT, "2.0")


def test_failed_is_final_and_releases_the_channel(db):
    owe(db, "a1", channel="CA")
    owe(db, "a2", channel="CA")
    [a1] = claim(db)
    with db.session() as s:
        outbox.mark_failed(s, a1.id, owner="w1", now=T0, error="channel_not_found")
    assert [m.key for m in claim(db)] == ["a2"]
    with db.session() as s:
        assert s.get(OutboxMessage, a1.id).status == FAILED
        assert outbox.stats(s).failed == 1 and outbox.stats(s).sending == 1


def test_backoff_doubles_and_caps():
    got = [outbox.backoff(n, base=2, cap=60).total_seconds() for n in range(1, 8)]
    assert got == [2, 4, 8, 16, 32, 60, 60]


def test_statuses_start_pending(db):
    owe(db, "k")
    with db.session() as s:
        assert s.exec(select(OutboxMessage.status)).one() == PENDING


def test_each_sink_takes_only_its_own_calls(db):
    from services import outbox

    with db.session() as s:
        outbox.enqueue(s, key="slack-1", method="chat.postMessage", channel="C1", payload={"text": "x"}, now=T0)
        outbox.enqueue(s, key="gh-1", method="github.checks.create", channel="gh:1", payload={}, now=T0)
    with db.session() as s:
        github = outbox.claim_due(s, now=T0, owner="g", lease=LEASE, sink="github")
        slack = outbox.claim_due(s, now=T0, owner="s", lease=LEASE, sink="slack")
    assert [m.key for m in github] == ["gh-1"] and [m.key for m in slack] == ["slack-1"]

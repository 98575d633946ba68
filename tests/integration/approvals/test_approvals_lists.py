"""App Home's lists: what waits for me, what I asked for — a page in a fixed number of queries."""

from contextlib import contextmanager

from sqlalchemy import event
from signoff_world import MEMBERS, REQUESTER, T0, decide, open_request

from services import approvals


def waiting(db, user, limit=20, offset=0, members=MEMBERS):
    with db.session() as s:
        return approvals.waiting_for(s, user=user, group_members=members, limit=limit, offset=offset)


def mine(db, user, limit=20, offset=0, **kw):
    with db.session() as s:
        return approvals.requested_by(s, user=user, limit=limit, offset=offset, **kw)


def test_waiting_for_lists_what_a_user_may_still_decide(db):
    code = open_request(db, "code")
    pair = open_request(db, "pair")
    open_request(db, "copy")  # eng-leads only
    own = open_request(db, "code", requester="U0REV1")
    decided = open_request(db, "code", reference="abc1234")
    decide(db, decided, "U0REV2")
    decide(db, pair, "U0REV2")

    assert [v["id"] for v in waiting(db, "U0REV1")] == [code, pair]  # its own and the approved one left out
    assert [v["id"] for v in waiting(db, "U0REV2")] == [code, own]  # voted on pair already
    assert waiting(db, "U0STRANGER") == []
    assert [v["id"] for v in waiting(db, "U0REV3")] == [code, pair, own]
    assert [v["id"] for v in waiting(db, "U0REV3", limit=1, offset=1)] == [pair]


def test_waiting_for_follows_resubmission(db):
    rid = open_request(db, "pair")
    decide(db, rid, "U0REV1")
    assert waiting(db, "U0REV1") == []
    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=T0)
    (v,) = waiting(db, "U0REV1")
    assert (v["id"], v["revision"]) == (rid, 2)


def test_requested_by_lists_a_users_requests_newest_first(db):
    a = open_request(db, "code")
    b = open_request(db, "pair")
    open_request(db, "code", requester="U0OTHER")
    decide(db, a, "U0REV1")
    assert [v["id"] for v in mine(db, REQUESTER)] == [b, a]
    assert [v["id"] for v in mine(db, REQUESTER, limit=1, offset=1)] == [a]
    assert [v["id"] for v in mine(db, REQUESTER, statuses=["pending"])] == [b]
    assert mine(db, REQUESTER)[1]["votes"][0]["user"] == "U0REV1"


@contextmanager
def counting(db):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_page_costs_the_same_number_of_queries_whatever_its_size(db):
    def cost(n):
        for i in range(n):
            rid = open_request(db, "pair", reference=f"ref-{n}-{i}")
            decide(db, rid, "U0REV2")
        with counting(db) as waiting_statements:
            assert len(waiting(db, "U0REV1", limit=100)) >= n
        with counting(db) as mine_statements:
            assert len(mine(db, REQUESTER, limit=100)) >= n
        return len(waiting_statements), len(mine_statements)

    assert cost(2) == cost(12)

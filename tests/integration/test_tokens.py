"""API tokens on a real database: created once and shown once, kept only as a SHA-256, scoped,
revoked for good, and their use recorded at most once a minute."""

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text
from sqlmodel import SQLModel

from models.api_token import ApiToken
from models.audit import AuditEvent
from services import tokens

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = "cli:alice"


def create(db, name="github-ci", scopes="gate", now=T0, actor=ADMIN):
    with db.session() as s:
        return tokens.create(s, name=name, scopes=scopes, now=now, actor=actor)


def authenticate(db, presented, now=T0):
    with db.session() as s:
        return tokens.authenticate(s, presented, now=now)


def revoke(db, name, now=T0, actor=ADMIN):
    with db.session() as s:
        return tokens.revoke(s, name=name, now=now, actor=actor)


def row(db, name):
    with db.session() as s:
        return s.scalars(select(ApiToken).where(ApiToken.name == name)).one()


def audit_trail(db):
    with db.session() as s:
        return [(e.at, e.actor, e.action, e.entity_type, e.entity_id, e.payload)
                for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def every_stored_value(db) -> str:
    """Every row of every table, as text: what a database dump would hold."""
    dump = []
    with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            dump += [repr(tuple(r)) for r in conn.execute(table.select())]
        dump += [repr(tuple(r)) for r in conn.execute(text("SELECT * FROM alembic_version"))]
    return "\n".join(dump)


def test_create_returns_the_token_once_and_stores_only_its_sha256(db):
    token = create(db, scopes="audit,gate")
    assert re.fullmatch(r"cs_[A-Za-z0-9_-]{43}", token)
    stored = row(db, "github-ci")
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.scopes == ["gate", "audit"]  # the constant's order, each once
    assert (stored.created_at, stored.created_by, stored.revoked_at, stored.last_used_at) == (
        T0, ADMIN, None, None)
    assert create(db, name="other") != token


def test_the_plaintext_is_in_no_row_of_any_table_nor_in_the_log(db, caplog):
    # SQLAlchemy's engine log at INFO prints every statement with its parameters: a token that
    # reached the database in any form would show here.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    token = create(db, scopes="gate,audit,ingest")
    assert authenticate(db, token) == ("github-ci", ("gate", "audit", "ingest"))
    revoke(db, "github-ci", now=T0 + timedelta(hours=1))
    assert authenticate(db, token, now=T0 + timedelta(hours=2)) is None

    digest = hashlib.sha256(token.encode()).hexdigest()
    dump = every_stored_value(db)
    assert "github-ci" in dump and digest in dump  # the dump reached the token's row
    assert token not in dump and token[3:] not in dump
    assert "INSERT INTO api_token" in caplog.text and digest in caplog.text
    assert token[3:] not in caplog.text
    with db.session() as s:  # nor its hash in the audit log, which auditors export
        events = repr([e.model_dump() for e in s.scalars(select(AuditEvent))])
    assert "token.created" in events and digest not in events


def test_create_and_revoke_write_exact_audit_events(db):
    create(db, scopes="ingest,gate", actor="cli:alice")
    later = T0 + timedelta(days=3)
    info = revoke(db, "github-ci", now=later, actor="cli:bob")
    assert info.revoked_at == later
    assert audit_trail(db) == [
        (T0, "cli:alice", "token.created", "token", "github-ci", {"scopes": ["gate", "ingest"]}),
        (later, "cli:bob", "token.revoked", "token", "github-ci", {"scopes": ["gate", "ingest"]}),
    ]


def test_authenticate_knows_only_the_exact_token(db):
    token = create(db, scopes="gate")
    assert authenticate(db, token) == ("github-ci", ("gate",))
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (altered, token + "x", token[:-1], "", " " + token, token.upper(),
                  hashlib.sha256(token.encode()).hexdigest()):
        assert authenticate(db, wrong) is None, wrong


def test_a_revoked_token_is_refused_and_its_name_stays_taken(db):
    token = create(db)
    revoke(db, "github-ci", now=T0 + timedelta(minutes=5))
    assert authenticate(db, token, now=T0 + timedelta(minutes=6)) is None
    with pytest.raises(tokens.TokenRefused, match="already revoked on 2026-03-02 09:05"):
        revoke(db, "github-ci")
    with pytest.raises(tokens.TokenRefused, match="revoked on 2026-03-02.*choose another name"):
        create(db)
    assert [e[2] for e in audit_trail(db)] == ["token.created", "token.revoked"]


def test_a_duplicate_name_is_refused_and_nothing_is_written(db):
    first = create(db, scopes="gate")
    with pytest.raises(tokens.TokenRefused, match="a token named 'github-ci' exists already"):
        create(db, scopes="audit")
    assert row(db, "github-ci").scopes == ["gate"]
    assert authenticate(db, first) == ("github-ci", ("gate",))
    assert [e[2] for e in audit_trail(db)] == ["token.created"]


@pytest.mark.parametrize("name", ["", "GitHub", "a b", "ci/deploy", "é", "x" * 65, "ci\n"])
def test_names_outside_the_rules_are_refused(db, name):
    with pytest.raises(tokens.TokenInputError, match="1 to 64 characters of a-z, 0-9"):
        create(db, name=name)
    assert audit_trail(db) == []


def test_names_at_the_edges_of_the_rules_are_taken(db):
    for name in ("a", "x" * 64, "release.bot_2-eu"):
        create(db, name=name)
    with db.session() as s:
        assert [t.name for t in tokens.list_tokens(s)] == sorted(["a", "x" * 64, "release.bot_2-eu"])


@pytest.mark.parametrize("scopes, message", [
    ("admin", "unknown scope 'admin': the scopes are gate, audit, ingest"),
    ("gate,Audit", "unknown scope 'Audit'"),
    ("", "at least one scope"),
    (" , ", "at least one scope"),
])
def test_unknown_scopes_are_refused_by_name(db, scopes, message):
    with pytest.raises(tokens.TokenInputError, match=re.escape(message)):
        create(db, scopes=scopes)
    with db.session() as s:
        assert tokens.list_tokens(s) == []


def test_list_shows_every_token_without_its_hash(db):
    create(db, name="release", scopes="gate", now=T0)
    token = create(db, name="siem", scopes="audit", now=T0 + timedelta(hours=1))
    authenticate(db, token, now=T0 + timedelta(hours=2))
    revoke(db, "release", now=T0 + timedelta(hours=3))
    with db.session() as s:
        listed = tokens.list_tokens(s)
    assert [(t.name, t.scopes, t.created_at, t.created_by, t.last_used_at, t.revoked_at)
            for t in listed] == [
        ("release", ("gate",), T0, ADMIN, None, T0 + timedelta(hours=3)),
        ("siem", ("audit",), T0 + timedelta(hours=1), ADMIN, T0 + timedelta(hours=2), None),
    ]
    assert not any(hasattr(t, "token_hash") for t in listed)


def test_revoking_an_unknown_token_says_so(db):
    with pytest.raises(tokens.TokenRefused, match="there is no token named 'nope'"):
        revoke(db, "nope")
    assert audit_trail(db) == []


def test_last_used_is_written_at_most_once_a_minute(db):
    token = create(db)
    updates = []

    def count(_conn, _cursor, statement, *_args):  # noqa: ANN001
        if statement.lstrip().upper().startswith("UPDATE API_TOKEN"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        moments = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=59),
                   T0 + timedelta(seconds=60), T0 + timedelta(seconds=61),
                   T0 + timedelta(minutes=30)]
        seen = []
        for moment in moments:
            assert authenticate(db, token, now=moment) == ("github-ci", ("gate",))
            seen.append(row(db, "github-ci").last_used_at)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert seen == [T0, T0, T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=60),
                    T0 + timedelta(minutes=30)]
    assert len(updates) == 3  # one per minute of use, none for the calls in between
    assert [e[2] for e in audit_trail(db)] == ["token.created"]  # use is not an audit event


def test_a_clock_that_went_back_does_not_move_last_used_back(db):
    token = create(db)
    authenticate(db, token, now=T0 + timedelta(minutes=10))
    authenticate(db, token, now=T0)
    assert row(db, "github-ci").last_used_at == T0 + timedelta(minutes=10)


def test_configured_tokens_are_matched_whole():
    configured = {"secret-token-0123456789": "github", "other-token-0123456789": "deploy"}
    assert tokens.configured("secret-token-0123456789", configured) == "github"
    assert tokens.configured("other-token-0123456789", configured) == "deploy"
    for wrong in ("secret-token-012345678", "secret-token-01234567890", "", "github"):
        assert tokens.configured(wrong, configured) is None
    assert tokens.CONFIGURED_SCOPES == ("gate",)

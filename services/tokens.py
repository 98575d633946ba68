"""Named, scoped bearer tokens for the HTTP API, kept hashed.

A token is shown once, when it is created; the database keeps only its SHA-256, so whoever
reads the database (a backup, a replica, a support dump) cannot present it. A token is looked
up by that hash: the lookup compares digests, never the secret itself, so its timing tells a
caller nothing about any token's characters. Revoking keeps the row (and so the name): audit
events name the token, and a name must keep meaning one token.

`API_TOKENS` from the environment still work beside stored tokens, with the scope `gate` only
(`CONFIGURED_SCOPES`): they were made for CI asking the gate, and widening them silently would
grant what nobody granted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlmodel import Session

from models.api_token import ApiToken
from services import audit
from services.inputs import InputError
from services.rows import insert_unless_exists

SCOPES = ("gate", "audit", "ingest")
CONFIGURED_SCOPES = ("gate",)
PREFIX = "cs_"
NAME_PATTERN = re.compile(r"[a-z0-9._-]{1,64}")
# `last_used_at` is written at most this often per token: a busy CI asking the gate every second
# would otherwise turn every read into a write (and, on SQLite, take the write lock each time).
LAST_USED_PRECISION = timedelta(minutes=1)
ENTITY = "token"
CREATED = "token.created"
REVOKED = "token.revoked"
DENIED = "token.denied"


class TokenError(InputError):
    """A token request refused before anything was written."""


class TokenInputError(TokenError):
    """The name or scopes are malformed: the request means nothing as written."""


class TokenRefused(TokenError):
    """Well formed, but the tokens on record refuse it (a taken name, no such token)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as it may be shown: everything but its hash."""

    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise TokenInputError("name", f"token name {name!r} is not valid: use 1 to 64 characters "
                                      "of a-z, 0-9, '.', '_' and '-' (e.g. github-ci)")
    return name


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """`gate,audit` or ["gate", "audit"] → ("gate", "audit"), in SCOPES' order, each once."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    wanted = {s.strip() for s in items if s.strip()}
    if not wanted:
        raise TokenInputError("scopes", f"a token needs at least one scope: {', '.join(SCOPES)}")
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise TokenInputError("scopes", f"unknown scope {', '.join(map(repr, unknown))}: "
                                        f"the scopes are {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in wanted)


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(name=row.name, scopes=tuple(row.scopes), created_at=row.created_at,
                     created_by=row.created_by, revoked_at=row.revoked_at,
                     last_used_at=row.last_used_at)


def _row(session: Session, name: str) -> ApiToken | None:
    # populate_existing: the row as the conditional updates here left it, not as first loaded.
    return session.scalars(select(ApiToken).where(ApiToken.name == name)
                           .execution_options(populate_existing=True)).first()


def create(session: Session, *, name: str, scopes: str | Iterable[str], now: datetime,
           actor: str) -> str:
    """Record a new token and return it in plain text: the only time anyone sees it."""
    name = check_name(name)
    granted = parse_scopes(scopes)
    token = PREFIX + secrets.token_urlsafe(32)
    # ON CONFLICT DO NOTHING: two operators creating the same name at once get one token and
    # one clear refusal, not a constraint error that takes the transaction down.
    inserted = insert_unless_exists(session, ApiToken, {
        "name": name, "token_hash": hash_token(token), "scopes": list(granted),
        "created_at": now, "created_by": actor[:64]}, unique=["name"])
    if not inserted:
        existing = _row(session, name)
        why = (f"it was revoked on {existing.revoked_at:%Y-%m-%d}, and a revoked token keeps its "
               "name so that the audit log's mentions of it stay unambiguous"
               if existing is not None and existing.revoked_at is not None else "it is in use")
        raise TokenRefused("name", f"a token named {name!r} exists already ({why}): "
                                   "choose another name")
    audit.append(session, at=now, actor=actor, action=CREATED, entity_type=ENTITY,
                 entity_id=name, payload={"scopes": list(granted)})
    return token


def list_tokens(session: Session) -> list[TokenInfo]:
    return [_info(row) for row in session.scalars(select(ApiToken).order_by(ApiToken.name))]


def revoke(session: Session, *, name: str, now: datetime, actor: str) -> TokenInfo:
    """Refuse the token from now on. Revoking is final: a token is never un-revoked."""
    name = check_name(name)
    # Compare-and-set: of two operators revoking at once, one revokes and one is told.
    done = session.execute(update(ApiToken).where(ApiToken.name == name,
                                                  ApiToken.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))
    row = _row(session, name)
    if row is None:
        raise TokenRefused("name", f"there is no token named {name!r} "
                                   "(`countersign token list` shows them)")
    if done.rowcount != 1:
        raise TokenRefused("name", f"the token {name!r} was already revoked on "
                                   f"{row.revoked_at:%Y-%m-%d %H:%M} UTC")
    audit.append(session, at=now, actor=actor, action=REVOKED, entity_type=ENTITY,
                 entity_id=name, payload={"scopes": list(row.scopes)})
    return _info(row)


def authenticate(session: Session, presented: str, *, now: datetime
                 ) -> tuple[str, tuple[str, ...]] | None:
    """(name, scopes) of the stored token `presented` is, or None (unknown or revoked).

    The use is recorded in `last_used_at` at most once per LAST_USED_PRECISION per token, by a
    conditional update, so most calls only read (and two calls at once write it once)."""
    if not presented:
        return None
    digest = hash_token(presented)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    # The index found an equal digest; comparing again in constant time costs nothing and keeps
    # the answer from resting on how the database compares text.
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        return None
    stale = now - LAST_USED_PRECISION
    if row.last_used_at is None or row.last_used_at <= stale:
        session.execute(update(ApiToken).where(
            ApiToken.id == row.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale))
            .values(last_used_at=now).execution_options(synchronize_session=False))
    return row.name, tuple(row.scopes)


def refuse_scope(session: Session, *, name: str, source: str, scope: str, path: str, now: datetime) -> None:
    """A known token asked for what its scopes do not grant: the attempt is on the token's
    record (`source`: a stored token, or one of API_TOKENS, whose names may be the same). An
    unknown or revoked token names nobody, and is not recorded."""
    audit.append(session, at=now, actor=name, action=DENIED, entity_type=ENTITY, entity_id=name,
                 payload={"source": source, "scope": scope, "path": path[:200]})


def configured(presented: str, tokens: dict[str, str]) -> str | None:
    """The name of the API_TOKENS entry `presented` is (token → name), or None; every entry is
    compared in constant time."""
    found = None
    for token, name in tokens.items():
        if hmac.compare_digest(token.encode(), presented.encode("utf-8", "surrogatepass")):
            found = name
    return found

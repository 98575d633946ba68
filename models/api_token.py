from __future__ import annotations

from datetime import datetime

from sqlmodel import JSON, Field, SQLModel


class ApiToken(SQLModel, table=True):
    """A named bearer token for /api/v1 and /v1/traces. Only the SHA-256 of the token is kept:
    whoever reads the database cannot present it."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime
    created_by: str = Field(max_length=64)
    revoked_at: datetime | None = Field(default=None)
    last_used_at: datetime | None = Field(default=None)

"""What the AI-usage e2e tests share: tokens for the scopes a test sends with."""

from __future__ import annotations

from datetime import UTC, datetime

from services import tokens

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def made_tokens(db, *scopes: str) -> dict[str, str]:  # noqa: ANN001
    """A stored token per scope, named `<scope>-token`, as `countersign token create` makes it."""
    with db.session() as s:
        return {scope: tokens.create(s, name=f"{scope}-token", scopes=scope, now=T0,
                                     actor="cli:test") for scope in scopes}

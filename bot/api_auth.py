"""Who is asking /api/v1, and whether they may: the one check every route makes.

A caller presents `Authorization: Bearer <token>`: one of the environment's API_TOKENS (scope
`gate` only) or a token created with `countersign token create` (its own scopes, looked up by
its hash). Missing, unknown and revoked tokens get a 401 with `WWW-Authenticate: Bearer`; a
token without the scope the route needs gets a 403 that names the scope, and the refusal is
audited (`token.denied`) — the token names who asked; an unknown one names nobody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services import tokens

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("countersign.api")

CONFIGURED = "API_TOKENS"
STORED = "token"


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: tuple[str, ...]
    source: str  # CONFIGURED or STORED: the same name may be in both


def presented_token(request: Request) -> str | None:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    return presented if scheme.lower() == "bearer" and presented else None


def unauthorized(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


class ApiAuth:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.configured = services.settings.api_token_map

    async def caller(self, presented: str) -> Caller | None:
        name = tokens.configured(presented, self.configured)
        if name is not None:
            return Caller(name, tokens.CONFIGURED_SCOPES, CONFIGURED)
        services = self.services

        def lookup() -> tuple[str, tuple[str, ...]] | None:
            with services.db.session() as s:
                return tokens.authenticate(s, presented, now=services.clock.now())

        found = await services.db.run(lookup)
        return Caller(found[0], found[1], STORED) if found is not None else None

    async def require(self, request: Request, scope: str) -> Caller | Response:
        """The caller, when their token holds `scope`; otherwise the response refusing them."""
        presented = presented_token(request)
        if presented is None:
            return unauthorized("a bearer token is required: send Authorization: Bearer <token> "
                                "(`countersign token create` makes one)")
        caller = await self.caller(presented)
        if caller is None:
            return unauthorized("the bearer token is not valid: it is unknown or was revoked")
        if scope not in caller.scopes:
            log.info("api %s refused to %s (%s): no %s scope", request.url.path, caller.name,
                     caller.source, scope)
            services = self.services

            def record() -> None:
                with services.db.session() as s:
                    tokens.refuse_scope(s, name=caller.name, source=caller.source, scope=scope,
                                        path=request.url.path, now=services.clock.now())

            await services.db.run(record)
            hint = (" API_TOKENS have the scope gate only; create a token with "
                    f"`countersign token create NAME --scope {scope}`"
                    if caller.source == CONFIGURED else
                    f" create one with `countersign token create NAME --scope {scope}`")
            return JSONResponse(
                {"error": f"this token lacks the scope {scope}, which {request.url.path} "
                          f"needs.{hint}"},
                status_code=403,
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
        return caller

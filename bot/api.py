"""/api/v1: what CI and release tooling ask Countersign, with a bearer token."""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services import approvals

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("countersign.api")


def caller_of(request: Request, tokens: dict[str, str]) -> str | None:
    """The configured name of the presented token, or None."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return None
    for token, name in tokens.items():
        if hmac.compare_digest(token.encode(), presented.strip().encode()):
            return name
    return None


def gate_body(ref: str, answer: Any) -> dict[str, Any]:
    if answer is None:
        return {"ref": ref, "approved": False, "status": "not_requested",
                "reason": "no sign-off was ever requested for this reference"}
    return {
        "ref": ref,
        "approved": answer.approved,
        "status": answer.status,
        "request_id": answer.request_id,
        "revision": answer.revision,
        "approved_by": answer.approved_by,
        "decided_at": answer.decided_at.isoformat() if answer.decided_at else None,
        "playbook_version": answer.playbook_version,
        "playbook_hash": answer.playbook_hash,
    }


def api_routes(services: Services) -> list[Route]:
    tokens = services.settings.api_token_map

    async def gate(request: Request) -> Response:
        caller = caller_of(request, tokens)
        if caller is None:
            return JSONResponse({"error": "a valid bearer token is required (API_TOKENS)"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        ref = request.query_params.get("ref", "").strip()
        if not ref or len(ref) > approvals.REFERENCE_MAX:
            return JSONResponse({"error": f"ref is required, at most {approvals.REFERENCE_MAX} "
                                 "characters"}, status_code=400)

        def lookup() -> Any:
            with services.db.session() as s:
                return approvals.gate(s, ref=ref)

        answer = await services.db.run(lookup)
        etag = f'"{answer.etag}"' if answer is not None else '"none"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        log.info("gate %s asked by %s: %s", ref, caller,
                 answer.status if answer is not None else "not_requested")
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return JSONResponse(gate_body(ref, answer), headers=headers)

    return [Route("/api/v1/gate", gate, methods=["GET"])]

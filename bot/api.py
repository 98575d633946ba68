"""/api/v1: what CI, release tooling and SIEMs ask Countersign, with a scoped bearer token
(bot/api_auth.py checks it for every route)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.api_audit import audit_routes
from bot.api_auth import ApiAuth
from bot.api_usage import usage_routes
from services import approvals
from services.inputs import control_character

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger("countersign.api")

OPENAPI_PATH = Path(__file__).with_name("openapi.yaml")


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The published description of /api/v1 (hand-written beside this module)."""
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def ref_problem(ref: str) -> str | None:
    """Why the gate cannot be asked about `ref` (as sent, before trimming), or None. No request
    can hold a control character (the input boundary refuses them), and PostgreSQL could not
    even compare one that is NUL. The published document's pattern says the same."""
    if not ref.strip():
        return "ref is required: the reference to ask about"
    if len(ref) > approvals.REFERENCE_MAX:
        return f"ref is {len(ref)} characters long; the limit is {approvals.REFERENCE_MAX}"
    return control_character("ref", ref)


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
    auth = ApiAuth(services)

    async def gate(request: Request) -> Response:
        caller = await auth.require(request, "gate")
        if isinstance(caller, Response):
            return caller
        ref = request.query_params.get("ref", "")
        if (problem := ref_problem(ref)) is not None:
            return JSONResponse({"error": problem}, status_code=400)
        ref = ref.strip()

        def lookup() -> Any:
            with services.db.session() as s:
                return approvals.gate(s, ref=ref)

        answer = await services.db.run(lookup)
        etag = answer.etag if answer is not None else '"none"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        log.info("gate %s asked by %s: %s", ref, caller.name,
                 answer.status if answer is not None else "not_requested")
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return JSONResponse(gate_body(ref, answer), headers=headers)

    async def openapi(_: Request) -> Response:
        return JSONResponse(openapi_document())

    return [Route("/api/v1/gate", gate, methods=["GET"]),
            *audit_routes(services, auth),
            *usage_routes(services, auth),
            Route("/api/v1/openapi.json", openapi, methods=["GET"])]

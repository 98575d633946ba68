"""What sign-off listeners share: who may approve, from the request's own snapshot."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack_answers import UnexpectedAnswer
from services import approvals


async def snapshot_members(services: Any, policy: dict[str, Any]) -> dict[str, list[str]]:
    """Members of the snapshot's approver groups; user groups resolved (cached) now."""
    members: dict[str, list[str]] = {}
    for group in policy["approvers"]:
        if group.get("usergroup"):
            try:
                members[group["name"]] = await services.directory.usergroup_members(
                    group["usergroup"])
            except (SlackApiError, UnexpectedAnswer):
                members[group["name"]] = []  # unresolvable: nobody from it may decide
        else:
            members[group["name"]] = list(group.get("members") or [])
    return members


async def load_request(services: Any, request_id: int
                       ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The request's view (for rendering) and its policy snapshot (for deciding)."""
    def load() -> tuple[dict[str, Any], dict[str, Any]] | None:
        with services.db.session() as s:
            request = approvals.get(s, request_id)
            if request is None:
                return None
            return approvals.request_view(s, request), dict(request.policy)

    return await services.db.run(load)

"""Errors the approval services raise for input they refuse before writing anything."""

from __future__ import annotations

from services.inputs import InputError


class ApprovalInputError(InputError):
    """Bad input to the sign-off services ("title", "reference", "kind", "reason", …)."""


class PolicyRefusal(ApprovalInputError):
    """The playbook refuses the request itself — a use it puts off limits, a rule that needs a
    documented use case — rather than a field being mistyped. Nothing is written with it; the
    caller records the attempt (`refuse_opening`) in a transaction of its own, since the refused
    one rolls back. `code` names the rule."""

    def __init__(self, field: str, message: str, *, code: str):
        self.code = code
        super().__init__(field, message)


class UnknownRequest(ApprovalInputError):
    """No approval request has that id."""

    def __init__(self, request_id: object):
        self.request_id = request_id
        super().__init__("request_id", f"There is no approval request #{request_id}.")

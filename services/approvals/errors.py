"""Errors the approval services raise for input they refuse before writing anything."""

from __future__ import annotations

from services.inputs import InputError


class ApprovalInputError(InputError):
    """Bad input to the sign-off services ("title", "reference", "kind", "reason", …)."""


class UnknownRequest(ApprovalInputError):
    """No approval request has that id."""

    def __init__(self, request_id: object):
        self.request_id = request_id
        super().__init__("request_id", f"There is no approval request #{request_id}.")

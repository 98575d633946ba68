"""Errors the approval services raise for input they refuse before writing anything."""

from __future__ import annotations


class ApprovalInputError(Exception):
    """Bad input, found before anything was written.

    `field` names the offending input ("title", "reference", "kind", "reason",
    "restated_reference", …) and `message` is one precise sentence for the person who typed
    it. `errors` maps every offending field found in the same pass to its message (for a
    modal showing all of them at once); `field`/`message` are the first of them.
    """

    def __init__(self, field: str, message: str, errors: dict[str, str] | None = None):
        self.field = field
        self.message = message
        self.errors = dict(errors) if errors else {field: message}
        super().__init__(f"{field}: {message}")

    def __str__(self) -> str:
        return self.message

    @classmethod
    def collect(cls, errors: dict[str, str]) -> ApprovalInputError:
        field, message = next(iter(errors.items()))
        return cls(field, message, errors)


class UnknownRequest(ApprovalInputError):
    """No approval request has that id."""

    def __init__(self, request_id: object):
        self.request_id = request_id
        super().__init__("request_id", f"There is no approval request #{request_id}.")

"""Errors the registry services raise for input they refuse before writing anything."""

from __future__ import annotations

from services.inputs import InputError


class RegistryInputError(InputError):
    """Bad input to a use-case or vendor record; `field` names the form field."""


class UnknownRecord(RegistryInputError):
    def __init__(self, kind: str, record_id: object):
        label = "use case" if kind == "usecase" else "vendor"
        super().__init__("id", f"There is no {label} #{record_id}. "
                               f"`/ai-{kind} list` shows the {label}s on record.")


class NotAllowed(RegistryInputError):
    """The person may not do this to this record; `message` says who may."""

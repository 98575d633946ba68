"""Errors the escalation services raise for input they refuse before writing anything."""

from __future__ import annotations

from services.inputs import InputError


class IncidentInputError(InputError):
    """Bad input to the escalation services ("severity", "title", "summary", "end", …)."""


class UnknownIncident(IncidentInputError):
    """No incident has that id."""

    def __init__(self, incident_id: object):
        self.incident_id = incident_id
        super().__init__("incident_id", f"There is no incident #{incident_id}.")

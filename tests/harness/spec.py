"""Checks Web API calls against Slack's OpenAPI 2.0 description (slack_web_openapi_v2.json).

The spec was last updated in October 2020, so it errs in one direction only: anything it
does not know may be newer than it, and is a warning; a method it lacks, or a required
argument left out, is a violation.
"""

import json
from dataclasses import dataclass
from pathlib import Path

# Real methods added after the spec was frozen: Socket Mode launched in 2021.
METHODS_NEWER_THAN_SPEC = frozenset({"apps.connections.open"})


@dataclass(frozen=True)
class _MethodSpec:
    known: frozenset[str]
    required: frozenset[str]


class SlackSpec:
    def __init__(self, path: str | Path):
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        self._methods: dict[str, _MethodSpec] = {}
        for route, operations in document["paths"].items():
            parameters = [p for op in operations.values() for p in op.get("parameters", [])]
            self._methods[route.lstrip("/")] = _MethodSpec(
                known=frozenset(p["name"] for p in parameters),
                # The token travels in the Authorization header, never among the arguments.
                required=frozenset(p["name"] for p in parameters if p.get("required") and p["name"] != "token"),
            )

    def check(self, method: str, args: dict) -> tuple[list[str], list[str]]:
        """(violations, warnings) for one call."""
        spec = self._methods.get(method)
        if spec is None:
            if method in METHODS_NEWER_THAN_SPEC:
                return [], [f"{method}: method is newer than the 2020 spec (not checked)"]
            return [f"{method}: no such method in the spec"], []
        violations = [f"{method}: missing required argument {name!r}" for name in sorted(spec.required - args.keys())]
        warnings = [
            f"{method}: argument {name!r} is not in the 2020 spec"
            for name in sorted(args.keys() - spec.known - {"token"})
        ]
        return violations, warnings

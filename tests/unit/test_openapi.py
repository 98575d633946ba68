"""The published OpenAPI document (bot/openapi.yaml) stays true to what bot/api.py serves:
the same paths and methods as the routes Starlette has, and a `ref` pattern that admits
exactly the references the gate answers about. Fuzzing the running server against it is
tests/reliability/test_api_fuzz.py."""

from __future__ import annotations

import re
import sys

from starlette.routing import Route

from bot.api import openapi_document, ref_problem
from bot.bootstrap import build_services
from bot.settings import Settings
from bot.slack import create_app
from bot.web import create_web_app
from tests.harness.server import BOT_TOKEN, EXAMPLE_PLAYBOOK, SIGNING_SECRET

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def served_api_routes(tmp_path) -> set[tuple[str, str]]:  # noqa: ANN001
    settings = Settings(_env_file=None, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        database_url=f"sqlite:///{tmp_path / 'api.db'}", playbook_path=EXAMPLE_PLAYBOOK)
    services = build_services(settings)
    try:
        app = create_web_app(services, create_app(settings, services), with_clock=False).app
        # Starlette answers HEAD for every GET route by itself; the document leaves it implied.
        return {(route.path, method.lower()) for route in app.routes if isinstance(route, Route)
                and route.path.startswith("/api/v1/") for method in route.methods if method != "HEAD"}
    finally:
        services.db.dispose()


def test_the_document_describes_every_route_served_under_api_v1_and_no_other(tmp_path):
    document = openapi_document()
    described = {(path, method) for path, item in document["paths"].items() for method in item
                 if method in HTTP_METHODS}
    assert described == served_api_routes(tmp_path)
    assert document["openapi"].startswith("3.1.")


def ref_pattern() -> re.Pattern[str]:
    gate = openapi_document()["paths"]["/api/v1/gate"]["get"]
    [ref] = [p for p in gate["parameters"] if p["name"] == "ref"]
    return re.compile(ref["schema"]["pattern"])


def test_the_ref_pattern_admits_exactly_the_characters_the_gate_answers_about():
    pattern = ref_pattern()
    # A query string is UTF-8: a lone surrogate cannot arrive, so it is no case.
    disagree = [hex(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF
                and (pattern.search(chr(c)) is not None) != (ref_problem(chr(c)) is None)]
    assert disagree == []


def test_the_ref_pattern_and_the_gate_agree_on_whole_references():
    pattern = ref_pattern()
    for ref in ["https://github.com/acme/app/pull/42", "  padded\t", "release 4.2\n", "a b", " \u3000 ",
                "a\x00b", "x\x7f", "\x85y", "mid\x1fdle"]:
        assert (pattern.search(ref) is not None) == (ref_problem(ref) is None), repr(ref)


def test_the_audit_parameters_are_published_with_the_patterns_the_server_checks():
    from bot import api_audit

    document = openapi_document()
    events = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/audit/events"]["get"]["parameters"]}
    moment = document["components"]["schemas"]["Moment"]["pattern"]
    assert events["since"] == events["until"] == {"$ref": "#/components/schemas/Moment"}
    assert moment == api_audit.MOMENT_PATTERN
    assert events["action"]["items"]["pattern"] == api_audit.ACTIONS_PATTERN
    assert (events["actor"]["pattern"], events["actor"]["maxLength"]) == (api_audit.ACTOR_PATTERN, 64)
    assert (events["entity"]["pattern"], events["entity"]["maxLength"]) == (api_audit.ENTITY_PATTERN,
                                                                            api_audit.ENTITY_MAX)
    assert (events["limit"]["minimum"], events["limit"]["maximum"], events["limit"]["default"]) == (
        1, api_audit.MAX_LIMIT, api_audit.DEFAULT_LIMIT)
    assert (events["after_seq"]["minimum"], events["after_seq"]["maximum"]) == (0, api_audit.MAX_SEQ)


def test_every_operation_but_the_description_names_its_scope_and_answers_401_and_403():
    from services.tokens import SCOPES

    for path, item in openapi_document()["paths"].items():
        [operation] = [item[m] for m in item if m in HTTP_METHODS]
        if path == "/api/v1/openapi.json":
            assert operation["security"] == []
            continue
        [requirement] = operation["security"]
        assert set(requirement) == {"bearer"} and len(requirement["bearer"]) == 1, path
        assert requirement["bearer"][0] in SCOPES
        assert {"401", "403"} <= set(operation["responses"]), path


def test_the_ai_event_schema_states_the_patterns_and_bounds_the_server_checks():
    from services.usage import native

    schemas = openapi_document()["components"]["schemas"]
    event = schemas["AiEvent"]["properties"]
    assert (event["id"]["pattern"], event["id"]["maxLength"]) == (
        native.ID_PATTERN, native.KEY_MAX - len("native:"))
    assert event["use_case"]["pattern"] == native.USE_CASE_PATTERN
    assert schemas["EventTime"]["pattern"] == native.MOMENT_PATTERN
    assert (schemas["EventName"]["pattern"], schemas["EventName"]["maxLength"]) == (
        native.NAME_PATTERN, native.NAME_MAX)
    assert schemas["TokenCount"]["oneOf"][0]["maximum"] == native.TOKENS_MAX
    batch = openapi_document()["paths"]["/api/v1/ai-events"]["post"]["requestBody"]
    assert batch["content"]["application/json"]["schema"]["properties"]["events"]["maxItems"] == \
        native.MAX_EVENTS
    assert set(event) == set(native.NativeEvent.model_fields)

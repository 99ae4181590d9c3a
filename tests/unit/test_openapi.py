"""/openapi.json is built from the app's own routes and the handlers' own pydantic models."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web
from pydantic import BaseModel

from inbox.accounts.documents import Role
from inbox.config import Settings
from web.accounts.schemas import SignupBody
from web.app import create_app
from web.auth import authenticated
from web.conversations.schemas import TicketQuery
from web.errors import error_response
from web.openapi import build_document, spec
from web.ratelimit import EXEMPT_PATHS, EXEMPT_PREFIXES

METHODS = {"get", "post", "put", "patch", "delete"}
UNCOUNTED = EXEMPT_PATHS


@pytest.fixture(scope="module")
def app() -> web.Application:
    return create_app(Settings(jwt_secret="unit-test-secret-" + "x" * 32))


@pytest.fixture(scope="module")
def doc(app: web.Application) -> dict[str, Any]:
    return build_document(app)


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    assert doc["openapi"] == "3.1.0"
    errors = [e.message for e in jsonschema_rs.Draft202012Validator(OPENAPI_31).iter_errors(doc)]
    assert errors == []


def test_every_route_of_the_app_is_described(app: web.Application, doc: dict[str, Any]) -> None:
    routes = {
        (r.resource.canonical, r.method.lower())
        for r in app.router.routes()
        if r.resource is not None
        and not isinstance(r.resource, web.StaticResource)
        and r.method.lower() in METHODS
    }
    described = {(path, method) for path, method, _ in _operations(doc)}
    assert routes == described


def test_every_handler_carries_its_own_spec(app: web.Application) -> None:
    """A new endpoint must say what it takes and gives: `@spec(...)` from web/openapi.py."""
    missing = [
        f"{r.method} {r.resource.canonical} ({r.handler.__module__}.{r.handler.__name__})"
        for r in app.router.routes()
        if r.resource is not None
        and not isinstance(r.resource, web.StaticResource)
        and r.method.lower() in METHODS
        and not hasattr(r.handler, "__openapi__")
    ]
    assert missing == []


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:
        assert _resolve(doc, ref) is not None, ref


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))


def test_request_bodies_are_the_handlers_own_models(doc: dict[str, Any]) -> None:
    signup = doc["paths"]["/auth/signup"]["post"]
    ref = signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = _resolve(doc, ref)
    expected = SignupBody.model_json_schema(by_alias=True)
    assert (
        set(schema["properties"])
        == set(expected["properties"])
        == {
            "orgName",
            "name",
            "email",
            "password",
        }
    )
    assert set(schema["required"]) == set(expected["required"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["password"]["minLength"] == 8
    assert signup["requestBody"]["required"] is True


def test_a_body_whose_fields_are_all_optional_may_be_left_out(doc: dict[str, Any]) -> None:
    assert doc["paths"]["/orgs/{orgId}"]["patch"]["requestBody"]["required"] is False


def test_responses_are_described_with_their_views(doc: dict[str, Any]) -> None:
    created = doc["paths"]["/auth/signup"]["post"]["responses"]["201"]
    session = _resolve(doc, created["content"]["application/json"]["schema"]["$ref"])
    assert set(session["properties"]) == {"user", "accessToken", "refreshToken"}
    ticket = doc["paths"]["/orgs/{orgId}/tickets/{ticketId}"]["get"]["responses"]["200"]
    view = _resolve(doc, ticket["content"]["application/json"]["schema"]["$ref"])
    assert {"messages", "status", "channel", "assignee"} <= set(view["properties"])


def test_lists_are_arrays_with_paging_parameters_and_headers(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/orgs/{orgId}/tickets"]["get"]
    ok = op["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    assert schema["items"]["$ref"].endswith("/TicketView")
    assert {"X-Total-Count", "Link"} <= set(ok["headers"])
    params = {p["name"]: p for p in op["parameters"]}
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert params["page"]["in"] == "query"


def test_query_parameters_come_from_the_query_model(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/orgs/{orgId}/tickets"]["get"]
    params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    fields = TicketQuery.model_json_schema(by_alias=True)["properties"]
    assert set(fields) <= set(params)
    # `X | None` in the model: absent or a value in the query string, never null.
    assert params["status"]["schema"] == {"$ref": "#/components/schemas/TicketStatus"}
    assert params["assigneeId"]["schema"] == {"type": "string"}
    assert not params["status"]["required"]


def test_path_parameters_are_required_strings(doc: dict[str, Any]) -> None:
    for path, _, op in _operations(doc):
        names = re.findall(r"{([^}]+)}", path)
        in_path = [p for p in op.get("parameters", []) if p["in"] == "path"]
        assert [p["name"] for p in in_path] == names, path
        assert all(p["required"] for p in in_path)


def test_authenticated_operations_need_a_bearer_token_and_may_answer_401(
    doc: dict[str, Any],
) -> None:
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    me = doc["paths"]["/auth/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    login = doc["paths"]["/auth/login"]["post"]
    assert login["security"] == []


def test_admin_only_operations_may_answer_403_and_member_ones_do_not(doc: dict[str, Any]) -> None:
    assert "403" in doc["paths"]["/orgs/{orgId}/channels"]["post"]["responses"]
    assert "403" not in doc["paths"]["/orgs/{orgId}/channels"]["get"]["responses"]


def test_org_scoped_operations_may_answer_404(doc: dict[str, Any]) -> None:
    for path, _, op in _operations(doc):
        if "{orgId}" in path:
            assert "404" in op["responses"], path


def test_input_errors_are_documented_with_the_error_shape(doc: dict[str, Any]) -> None:
    bad = doc["paths"]["/auth/signup"]["post"]["responses"]["400"]
    assert bad == {"$ref": "#/components/responses/BadRequest"}
    response = _resolve(doc, bad["$ref"])
    error = _resolve(doc, response["content"]["application/json"]["schema"]["$ref"])
    real = error_response(400, "nope").text
    import json

    body = json.loads(real or "{}")
    assert (
        set(error["required"])
        == set(body)
        == {
            "statusCode",
            "error",
            "message",
            "code",
            "details",
        }
    )
    assert "409" in doc["paths"]["/auth/signup"]["post"]["responses"]


def test_counted_operations_document_rate_limits(doc: dict[str, Any]) -> None:
    for path, method, op in _operations(doc):
        if path in UNCOUNTED or path.startswith(EXEMPT_PREFIXES):
            assert "429" not in op["responses"], path
            continue
        assert "429" in op["responses"], (method, path)
        ok = next(r for code, r in op["responses"].items() if code.startswith(("1", "2")))
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
            ok.get("headers", {})
        ), (method, path)
    too_many = doc["components"]["responses"]["TooManyRequests"]
    assert too_many["headers"]["Retry-After"]["required"] is True
    reset = doc["components"]["headers"]["X-RateLimit-Reset"]["description"]
    assert "Seconds from now" in reset


def test_the_webhook_verify_answers_text_and_receive_takes_any_json(doc: dict[str, Any]) -> None:
    verify = doc["paths"]["/webhook/{channelId}"]["get"]
    assert "text/plain" in verify["responses"]["200"]["content"]
    assert {p["name"] for p in verify["parameters"]} >= {"hub.mode", "hub.challenge"}
    receive = doc["paths"]["/webhook/{channelId}"]["post"]
    assert receive["security"] == []
    assert "X-Hub-Signature-256" in {p["name"] for p in receive["parameters"]}


class _Thing(BaseModel):
    name: str


def test_spec_works_above_or_below_the_auth_decorator() -> None:
    @spec("Above", response=_Thing)
    @authenticated(Role.ADMIN)
    async def above(request: web.Request) -> web.Response:
        raise NotImplementedError

    @authenticated(Role.ADMIN)
    @spec("Below", response=_Thing)
    async def below(request: web.Request) -> web.Response:
        raise NotImplementedError

    async def plain(request: web.Request) -> web.Response:
        """Undocumented, but still listed."""
        raise NotImplementedError

    app = web.Application()
    app.router.add_get("/orgs/{orgId}/above", above)
    app.router.add_get("/orgs/{orgId}/below", below)
    app.router.add_get("/plain", plain)
    doc = build_document(app)
    for path in ("/orgs/{orgId}/above", "/orgs/{orgId}/below"):
        op = doc["paths"][path]["get"]
        assert op["security"] == [{"bearerAuth": []}]
        assert {"401", "403", "404"} <= set(op["responses"])
        assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/_Thing"
        }
    plain_op = doc["paths"]["/plain"]["get"]
    assert plain_op["summary"] == "Undocumented, but still listed."
    assert plain_op["security"] == []

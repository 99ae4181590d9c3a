"""OpenAPI 3.1 for every route, generated from the pydantic models the handlers use.

Handlers say what they take and give with `@spec(...)`; `/openapi.json` walks the app's router
when asked, so a route added anywhere shows up without a list to keep in step. Auth comes
from `@authenticated` (web/auth.py), which records its roles on the handler; `@spec` goes
above or below it, in either order (`functools.wraps` copies the attribute across).

    @spec("List tickets", tags=["tickets"], query=TicketQuery, response=TicketView,
          list_response=True)
    @authenticated()
    async def list_tickets(request): ...

Schemas come from `pydantic.json_schema.models_json_schema` over every model in use, so one
name means one shape across the document; `$defs` become `components/schemas`.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import swagger_ui
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from web.openapi_models import Error, OpenAPIDocument
from web.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE
from web.ratelimit import EXEMPT_PATHS, EXEMPT_PREFIXES

REF = "#/components/schemas/{model}"
# Swagger UI 5 (OpenAPI 3.1 aware), shipped inside the `swagger-ui-py` wheel: /docs works
# offline and behind firewalls, no CDN involved.
SWAGGER_UI_DIR = Path(swagger_ui.__file__).parent / "static"
DOCS_PAGE = Path(__file__).parent / "static" / "docs.html"

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


@dataclass(frozen=True)
class Spec:
    """What one handler takes and gives, for the document."""

    summary: str
    description: str | None = None
    tags: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    # How the body is sent: JSON, or e.g. "multipart/form-data" for file uploads.
    body_content_type: str = "application/json"
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    list_response: bool = False
    # Paged lists take `page`/`limit` and answer with X-Total-Count and Link.
    paged: bool | None = None
    # The `limit` used when none is given (web/pagination.py `page_of`).
    page_size: int = DEFAULT_LIMIT
    status: int = 200
    # None: no body at all (e.g. a websocket upgrade).
    content_type: str | None = "application/json"
    response_description: str | None = None
    # More statuses answered with the same body as `status` (health's 503), with descriptions.
    also: Mapping[int, str] = field(default_factory=dict)
    # Error statuses beyond the ones implied by auth, path, body and paging (e.g. 409).
    errors: tuple[int, ...] = ()
    # None: as `@authenticated` says (a bearer token exactly when the handler is wrapped).
    auth: bool | None = None
    # Request headers the handler reads, name -> description.
    headers: Mapping[str, str] = field(default_factory=dict)
    deprecated: bool = False

    @property
    def is_paged(self) -> bool:
        return self.list_response if self.paged is None else self.paged


def spec(
    summary: str,
    *,
    description: str | None = None,
    tags: list[str] | tuple[str, ...] = (),
    body: type[BaseModel] | None = None,
    body_content_type: str = "application/json",
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    list_response: bool = False,
    paged: bool | None = None,
    page_size: int = DEFAULT_LIMIT,
    status: int = 200,
    content_type: str | None = "application/json",
    response_description: str | None = None,
    also: Mapping[int, str] | None = None,
    errors: list[int] | tuple[int, ...] = (),
    auth: bool | None = None,
    headers: Mapping[str, str] | None = None,
    deprecated: bool = False,
) -> Callable[[H], H]:
    """Attach the handler's OpenAPI description; returns the handler unchanged."""
    meta = Spec(
        summary=summary,
        description=description,
        tags=tuple(tags),
        body=body,
        body_content_type=body_content_type,
        query=query,
        response=response,
        list_response=list_response,
        paged=paged,
        page_size=page_size,
        status=status,
        content_type=content_type,
        response_description=response_description,
        also=dict(also or {}),
        errors=tuple(errors),
        auth=auth,
        headers=dict(headers or {}),
        deprecated=deprecated,
    )

    def decorate(handler: H) -> H:
        handler.__openapi__ = meta  # type: ignore[attr-defined]
        return handler

    return decorate


# ------------------------------------------------------------------------------ the document

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Invalid input: `details` names each field and why"),
    401: ("Unauthorized", "No bearer token, or an invalid or expired one"),
    403: ("Forbidden", "The caller's role may not do this"),
    404: ("NotFound", "No such thing in the caller's organisation (other orgs' ids too)"),
    409: ("Conflict", "Conflicts with the current state (e.g. the email is taken)"),
    413: ("PayloadTooLarge", "The request body is too large"),
    429: ("TooManyRequests", "Rate limit exceeded: retry after `Retry-After` seconds"),
    503: ("ServiceUnavailable", "A backing service is unavailable"),
}

_RATE_HEADERS: dict[str, dict[str, Any]] = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed per window (a minute by default) in this scope",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds from now until the oldest counted request leaves the window, "
        "i.e. until `X-RateLimit-Remaining` grows again (not an epoch time)",
        "schema": {"type": "integer", "minimum": 0},
    },
}

_PAGE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Total-Count": {
        "description": "How many items match, over all pages",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Link": {
        "description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages, e.g. "
        '`</orgs/o1/tickets?page=2&limit=20>; rel="next"`',
        "schema": {"type": "string"},
    },
}


def _page_params(default_limit: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "description": "Page number, from 1",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"Items per page (at most {MAX_LIMIT})",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": default_limit,
            },
        },
    ]


_DESCRIPTION = """\
The omnichannel inbox API: organisations and their users, channels (WhatsApp, Messenger,
Instagram, and a MOCK channel for development), tickets and their messages, customers, macros,
campaigns, analytics, audit logs and notifications, and the webhooks the platforms call.

**Auth.** `Authorization: Bearer <accessToken>` from `/auth/login` or `/auth/signup`; trade the
refresh token at `/auth/refresh` when the access token expires. No or a bad token: 401. A role
that may not do something: 403. Another organisation's ids: 404, as if they did not exist.

**Errors** always have one shape: `{"statusCode", "error", "message", "code", "details"}`.

**Lists** take `page` and `limit` (default 20, at most 100). The body is the array itself; the
`X-Total-Count` and `Link` headers carry the paging.

**Rate limits** (Redis, per minute by default): authentication endpoints 5 per client IP and
5 per email; everything else 100 per user (per IP without a token); webhooks 1000 per channel.
Counted responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(seconds until the oldest counted request leaves the window). Over the limit: 429 with
`Retry-After` (seconds) and code `RATE_LIMITED`. `/health`, `/openapi.json`, `/docs` and the
`/ws` upgrade are not counted.

**Realtime**: `GET /ws?token=...&since=...` is a websocket of `{"id", "event", "data"}` frames.
"""


def _version() -> str:
    try:
        return metadata.version("omni-inbox")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass(frozen=True)
class _Route:
    path: str
    method: str
    handler: Callable[..., Any]
    spec: Spec | None
    auth: dict[str, Any] | None

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{([^}:]+)", self.path)

    @property
    def needs_token(self) -> bool:
        if self.spec is not None and self.spec.auth is not None:
            return self.spec.auth
        return self.auth is not None

    @property
    def rate_limited(self) -> bool:
        return self.path not in EXEMPT_PATHS and not self.path.startswith(EXEMPT_PREFIXES)


def _routes(app: web.Application) -> Iterator[_Route]:
    for route in app.router.routes():
        resource = route.resource
        if resource is None or isinstance(resource, web.StaticResource):
            continue
        if route.method in {"HEAD", "OPTIONS", "*"}:  # HEAD comes with every GET
            continue
        # `canonical` drops any regex from `{name:regex}`.
        yield _Route(
            path=resource.canonical,
            method=route.method,
            handler=route.handler,
            spec=getattr(route.handler, "__openapi__", None),
            auth=getattr(route.handler, "__auth__", None),
        )


def _tidy(schema: Any) -> Any:
    """Drop pydantic's auto-titles ("Assigneeid") from properties; keep everything else."""
    if isinstance(schema, dict):
        out = {k: _tidy(v) for k, v in schema.items()}
        if "properties" in out:
            out["properties"] = {
                name: {k: v for k, v in prop.items() if k != "title"}
                for name, prop in out["properties"].items()
            }
        return out
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string, never JSON null: `X | None` becomes `X`."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if rest.get("default", "") is None:
        del rest["default"]
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


class _Schemas:
    """Every model of the document, rendered together so names and `$ref`s agree."""

    def __init__(self, routes: list[_Route]):
        pairs: set[tuple[type[BaseModel], JsonSchemaMode]] = {(Error, "serialization")}
        for r in routes:
            if r.spec is None:
                continue
            for model, mode in (
                (r.spec.body, "validation"),
                (r.spec.query, "validation"),
                (r.spec.response, "serialization"),
            ):
                if model is not None:
                    pairs.add((model, mode))
        ordered = sorted(pairs, key=lambda p: (p[0].__module__, p[0].__qualname__, p[1]))
        refs, top = models_json_schema(ordered, by_alias=True, ref_template=REF)
        self.refs = refs
        self.components: dict[str, Any] = _tidy(top.get("$defs", {}))

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self.refs[(model, mode)])

    def resolved(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        ref = self.refs[(model, mode)]
        if "$ref" in ref:
            return self.components[ref["$ref"].rsplit("/", 1)[-1]]
        return ref


def build_document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `app` has right now."""
    routes = sorted(_routes(app), key=lambda r: (r.path, _METHOD_ORDER.get(r.method, 9)))
    schemas = _Schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    tags: dict[str, None] = {}
    for r in routes:
        op = _operation(r, schemas, used_ids)
        for tag in op.get("tags", []):
            tags.setdefault(tag)
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Omni Inbox API", "version": _version(), "description": _DESCRIPTION},
        "tags": [{"name": t} for t in sorted(tags, key=_tag_rank)],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "responses": {
                name: _error_response(status, description)
                for status, (name, description) in _ERRORS.items()
            },
            "headers": _RATE_HEADERS,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The `accessToken` from /auth/login, /auth/signup or "
                    "/auth/refresh",
                }
            },
        },
    }


_METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
# How /docs lists the groups: a support team's day first, plumbing and pages last.
_TAG_ORDER = [
    "auth",
    "organisation",
    "users",
    "channels",
    "tickets",
    "messages",
    "customers",
    "macros",
    "campaigns",
    "analytics",
    "audit",
    "notifications",
    "webhooks",
    "realtime",
    "meta",
    "pages",
]


def _tag_rank(tag: str) -> tuple[int, str]:
    return (_TAG_ORDER.index(tag) if tag in _TAG_ORDER else len(_TAG_ORDER) - 2, tag)


def _error_response(status: int, description: str) -> dict[str, Any]:
    headers: dict[str, Any] = {
        name: {"$ref": f"#/components/headers/{name}"} for name in _RATE_HEADERS
    }
    if status == 429:
        headers["Retry-After"] = {
            "description": "Seconds to wait before trying again",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


def _operation(r: _Route, schemas: _Schemas, used_ids: set[str]) -> dict[str, Any]:
    s = r.spec
    # The first part of an operation id is the handler module's `OPERATION_PREFIX`: the ids
    # stay what clients were generated from when a module moves.
    module = getattr(
        sys.modules.get(r.handler.__module__),
        "OPERATION_PREFIX",
        r.handler.__module__.rsplit(".", 1)[-1],
    )
    op_id = getattr(r.handler, "__operation_id__", None) or (
        f"{module}.{getattr(r.handler, '__name__', 'handler')}"
    )
    while op_id in used_ids:  # one handler mounted on two paths
        op_id += "_"
    used_ids.add(op_id)
    doc = (r.handler.__doc__ or "").strip()
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": s.summary if s else (doc.splitlines()[0] if doc else op_id),
        "tags": list(s.tags) if s and s.tags else [_tag_of(r.path)],
    }
    description = s.description if s and s.description else (doc if s and doc else None)
    if description:
        op["description"] = description
    if s and s.deprecated:
        op["deprecated"] = True

    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in r.path_params
    ]
    if s and s.query is not None:
        q = schemas.resolved(s.query, "validation")
        required = set(q.get("required", []))
        for name, prop in q.get("properties", {}).items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _not_null({k: v for k, v in prop.items() if k != "description"}),
            }
            if prop.get("description"):
                param["description"] = prop["description"]
            params.append(param)
    if s and s.is_paged:
        have = {p["name"] for p in params}
        params.extend(p for p in _page_params(s.page_size) if p["name"] not in have)
    if s:
        params.extend(
            {
                "name": name,
                "in": "header",
                "required": False,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in s.headers.items()
        )
    if params:
        op["parameters"] = params

    if s and s.body is not None:
        body_schema = schemas.resolved(s.body, "validation")
        op["requestBody"] = {
            # json_body treats a missing body as {}: required only if some field is.
            "required": bool(body_schema.get("required")) or body_schema.get("type") != "object",
            "content": {s.body_content_type: {"schema": schemas.ref(s.body, "validation")}},
        }

    op["responses"] = _responses(r, schemas)
    op["security"] = [{"bearerAuth": []}] if r.needs_token else []
    return op


def _tag_of(path: str) -> str:
    parts = [p for p in path.split("/") if p and not p.startswith("{")]
    if parts[:1] == ["orgs"] and len(parts) > 1:
        return parts[1]
    return parts[0] if parts else "default"


def _responses(r: _Route, schemas: _Schemas) -> dict[str, Any]:
    s = r.spec
    status = s.status if s else 200
    ok: dict[str, Any] = {
        "description": (s.response_description if s else None) or HTTPStatus(status).phrase
    }
    headers: dict[str, Any] = {}
    if r.rate_limited:
        headers.update({name: {"$ref": f"#/components/headers/{name}"} for name in _RATE_HEADERS})
    if s and s.is_paged:
        headers.update(_PAGE_HEADERS)
    if headers:
        ok["headers"] = headers
    content_type = s.content_type if s else "application/json"
    if content_type == "application/json":
        schema: dict[str, Any] = {}
        if s and s.response is not None:
            schema = schemas.ref(s.response, "serialization")
        if s and s.list_response:
            schema = {"type": "array", "items": schema}
        ok["content"] = {content_type: {"schema": schema}}
    elif content_type is not None:
        ok["content"] = {content_type: {"schema": {"type": "string"}}}
    out: dict[str, Any] = {str(status): ok}
    for other, description in s.also.items() if s else ():
        out[str(other)] = {**ok, "description": description}

    errors: set[int] = set(s.errors if s else ())
    if s and (s.body is not None or s.query is not None or s.is_paged):
        errors.add(400)
    if s and s.body is not None:
        errors.add(413)
    if r.needs_token:
        errors.add(401)
        if r.auth and r.auth.get("roles"):
            errors.add(403)
    if r.path_params:
        errors.add(404)
    if r.rate_limited:
        errors.add(429)
    for code in sorted(errors):
        if str(code) in out:
            continue
        if code in _ERRORS:
            out[str(code)] = {"$ref": f"#/components/responses/{_ERRORS[code][0]}"}
        else:
            out[str(code)] = _error_response(code, HTTPStatus(code).phrase)
    return out


# --------------------------------------------------------------------------------- handlers


@functools.cache
def _docs_page() -> str:
    return DOCS_PAGE.read_text()


@spec(
    "This OpenAPI document",
    description="OpenAPI 3.1, generated from the running app's routes and models.",
    tags=["meta"],
    response=OpenAPIDocument,
    auth=False,
)
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(
        build_document(request.app), dumps=functools.partial(json.dumps, separators=(",", ":"))
    )


@spec(
    "Interactive API documentation",
    description="Swagger UI over /openapi.json, served from this process (no CDN).",
    tags=["meta"],
    content_type="text/html",
    auth=False,
)
async def docs(request: web.Request) -> web.Response:
    return web.Response(text=_docs_page(), content_type="text/html")

"""Declarative endpoints: one declaration says method, path, what comes in, what goes out, and
who may call; the handler body only calls a service.

    routes = Routes("macros")  # the first part of each operation id in /openapi.json

    @routes.get("/orgs/macros/{orgId}", "List the org's macros, by name", tags=["macros"],
                query=MacroQuery, response=MacroView, list_response=True)
    async def list_macros(call: Call[None, MacroQuery]) -> Paged:
        return Paged(*await macros.list_macros(call.org_id, call.page.skip, call.page.limit))

The declaration parses the JSON body and the query string into their models (400 with field
details otherwise), authenticates (`role=`; `auth=False` for public endpoints), reads
`page`/`limit` for paged lists, serialises what the handler returns with the declared status,
and records all of it for /openapi.json (`web/openapi.py`). `web/routes.py` registers every
area's table in one place.

A handler may return a view (or any pydantic model), a list of them, `Paged(items, total)`,
a plain dict or list, `None` (an empty 204), or a finished `web.StreamResponse` for what does
not fit (files, redirects, websockets).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel

from inbox.accounts.documents import Role, User
from inbox.config import Settings
from inbox.ports import Deps
from web import keys
from web.auth import USER, authenticated
from web.openapi import spec
from web.pagination import DEFAULT_LIMIT, Page, page_of, paged_response
from web.parsing import json_body, query

B = TypeVar("B")
Q = TypeVar("Q")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Paged:
    """One page of a list and the number of all matches (`X-Total-Count`, `Link`)."""

    items: Sequence[Any]
    total: int


@dataclass
class Call(Generic[B, Q]):
    """What a declared handler gets: the parsed request and who made it."""

    request: web.Request
    body: B
    query: Q
    page: Page

    @property
    def user(self) -> User:
        """The authenticated caller (declared endpoints only; not for `auth=False`)."""
        return self.request[USER]

    @property
    def org_id(self) -> str:
        return self.user.org_id

    def path(self, name: str) -> str:
        """A path parameter, e.g. `call.path("ticketId")`."""
        return self.request.match_info[name]

    @property
    def settings(self) -> Settings:
        return self.request.app[keys.SETTINGS]

    @property
    def deps(self) -> Deps:
        return self.request.app[keys.DEPS]


def jsonable(value: Any) -> Any:
    """A handler's result as JSON-ready data: views by their `dump()` (camelCase)."""
    if isinstance(value, BaseModel):
        dump = getattr(value, "dump", None)
        return dump() if callable(dump) else value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass
class Routes:
    """One area's route table, registered in declaration order (fixed paths first)."""

    operation_prefix: str
    entries: list[tuple[str, str, Handler]] = field(default_factory=list)

    def get(self, path: str, summary: str, **declared: Any) -> Callable[[Any], Handler]:
        return self.route("GET", path, summary, **declared)

    def post(self, path: str, summary: str, **declared: Any) -> Callable[[Any], Handler]:
        return self.route("POST", path, summary, **declared)

    def put(self, path: str, summary: str, **declared: Any) -> Callable[[Any], Handler]:
        return self.route("PUT", path, summary, **declared)

    def patch(self, path: str, summary: str, **declared: Any) -> Callable[[Any], Handler]:
        return self.route("PATCH", path, summary, **declared)

    def delete(self, path: str, summary: str, **declared: Any) -> Callable[[Any], Handler]:
        return self.route("DELETE", path, summary, **declared)

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        role: Role | None = None,
        auth: bool = True,
        org_scoped: bool | None = None,
        raw: bool = False,
        **spec_fields: Any,
    ) -> Callable[[Any], Handler]:
        """Declare one endpoint. `role`: who besides any member may call (None: any member);
        `auth=False`: public; `org_scoped`: the path's `{orgId}` must be the caller's (by
        default when the path has one); `raw`: the handler takes the `web.Request` itself
        (the decoration still authenticates and documents it).
        Everything else (`body`, `query`, `response`, `status`, `errors`, ...) is `@spec`'s."""
        body_model = spec_fields.get("body")
        query_model = spec_fields.get("query")
        json_in = spec_fields.get("body_content_type", "application/json") == "application/json"
        status = spec_fields.get("status", 200)
        list_response = spec_fields.get("list_response", False)
        paged = spec_fields.get("paged")
        is_paged = list_response if paged is None else paged
        page_size = spec_fields.get("page_size", DEFAULT_LIMIT)
        scoped = "{orgId}" in path if org_scoped is None else org_scoped

        def declare(fn: Any) -> Handler:
            if raw:
                handler: Handler = fn
            else:

                @functools.wraps(fn)
                async def handler(request: web.Request) -> web.StreamResponse:
                    page = page_of(request, page_size) if is_paged else Page(1, page_size)
                    # Query before body: a request wrong in both is answered about its query.
                    parsed_query = query(request, query_model) if query_model else None
                    call: Call[Any, Any] = Call(
                        request=request,
                        body=await json_body(request, body_model)
                        if body_model is not None and json_in
                        else None,
                        query=parsed_query,
                        page=page,
                    )
                    return respond(request, await fn(call), status, page if is_paged else None)

            if auth:
                roles = () if role is None else (role,)
                handler = authenticated(*roles, org_scoped=scoped)(handler)
            handler = spec(summary, **spec_fields)(handler)
            handler.__operation_id__ = (  # type: ignore[attr-defined]
                f"{self.operation_prefix}.{fn.__name__}"
            )
            self.entries.append((method, path, handler))
            return handler

        return declare

    def register(self, app: web.Application) -> None:
        for method, path, handler in self.entries:
            if method == "GET":
                app.router.add_get(path, handler)  # and HEAD, as aiohttp does for GETs
            else:
                app.router.add_route(method, path, handler)


def respond(
    request: web.Request, result: Any, status: int, page: Page | None
) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Paged):
        if page is None:
            raise TypeError("Paged answers need a list_response endpoint")
        return paged_response(request, jsonable(list(result.items)), result.total, page)
    if result is None and status == 204:
        return web.Response(status=204)
    return web.json_response(jsonable(result), status=status)

"""/orgs/macros/{orgId}: canned replies (the document puts `macros` before the org id)."""

from __future__ import annotations

from aiohttp import web

from inbox.conversations import macros as macro_service
from inbox.conversations.views import MacroView
from web.auth import authenticated, current_user
from web.conversations.schemas import MacroBody, MacroQuery, MacroUpdateBody
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok


@spec(
    "List the org's macros, by name",
    tags=["macros"],
    query=MacroQuery,
    response=MacroView,
    list_response=True,
)
@authenticated()
async def list_macros(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, MacroQuery)
    found, total = await macro_service.list_macros(
        current_user(request).org_id, page.skip, page.limit, search=q.search
    )
    return paged_response(
        request, [v.dump() for v in await macro_service.views(found)], total, page
    )


@spec(
    "Create a macro (any member)",
    description="`content` is a Jinja2 template over `customer` (name, platform, externalId, "
    "metadata), `ticket` (id, subject) and `agent` (name); unknown variables are a 400.",
    tags=["macros"],
    body=MacroBody,
    response=MacroView,
    status=201,
    errors=[409],
)
@authenticated()
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, MacroBody)
    macro = await macro_service.create(current_user(request), name=body.name, content=body.content)
    return web.json_response((await macro_service.view(macro)).dump(), status=201)


@spec(
    "Update a macro (its creator or an ADMIN)",
    tags=["macros"],
    body=MacroUpdateBody,
    response=MacroView,
    errors=[403, 409],
)
@authenticated()
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, MacroUpdateBody)
    macro = await macro_service.update(
        current_user(request), request.match_info["macroId"], name=body.name, content=body.content
    )
    return web.json_response((await macro_service.view(macro)).dump())


@spec("Delete a macro (its creator or an ADMIN)", tags=["macros"], response=Ok, errors=[403])
@authenticated()
async def delete(request: web.Request) -> web.Response:
    await macro_service.delete(current_user(request), request.match_info["macroId"])
    return web.json_response(Ok(message="Macro deleted").model_dump())

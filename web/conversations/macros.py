"""/orgs/macros/{orgId}: canned replies (the document puts `macros` before the org id)."""

from __future__ import annotations

from inbox.conversations import macros as macro_service
from inbox.conversations.views import MacroView
from web.conversations.schemas import MacroBody, MacroQuery, MacroUpdateBody
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("macros")


@routes.get(
    "/orgs/macros/{orgId}",
    "List the org's macros, by name",
    tags=["macros"],
    query=MacroQuery,
    response=MacroView,
    list_response=True,
)
async def list_macros(call: Call[None, MacroQuery]) -> Paged:
    return Paged(
        *await macro_service.list_macros(
            call.org_id, call.page.skip, call.page.limit, search=call.query.search
        )
    )


@routes.post(
    "/orgs/macros/{orgId}",
    "Create a macro (any member)",
    description="`content` is a Jinja2 template over `customer` (name, platform, externalId, "
    "metadata), `ticket` (id, subject) and `agent` (name); unknown variables are a 400.",
    tags=["macros"],
    body=MacroBody,
    response=MacroView,
    status=201,
    errors=[409],
)
async def create(call: Call[MacroBody, None]) -> MacroView:
    return await macro_service.create(call.user, name=call.body.name, content=call.body.content)


@routes.put(
    "/orgs/macros/{orgId}/{macroId}",
    "Update a macro (its creator or an ADMIN)",
    tags=["macros"],
    body=MacroUpdateBody,
    response=MacroView,
    errors=[403, 409],
)
async def update(call: Call[MacroUpdateBody, None]) -> MacroView:
    return await macro_service.update(
        call.user, call.path("macroId"), name=call.body.name, content=call.body.content
    )


@routes.delete(
    "/orgs/macros/{orgId}/{macroId}",
    "Delete a macro (its creator or an ADMIN)",
    tags=["macros"],
    response=Ok,
    errors=[403],
)
async def delete(call: Call[None, None]) -> Ok:
    await macro_service.delete(call.user, call.path("macroId"))
    return Ok(message="Macro deleted")

"""Macros: canned replies agents send with one click, rendered for the ticket's customer.

A macro's content is a Jinja2 template, checked and rendered by `inbox.templating` (the
sandbox campaigns use, with strict undefined variables). It may use `customer` (name,
platform, externalId, metadata), `ticket` (id, subject) and `agent` (name). A template is
checked when it is saved, so a typo such as `{{ customer.nmae }}` is a 400 then, not a
broken message later. `customer.metadata.<key>` cannot be checked ahead (each customer has
their own keys), so a customer without that key makes the send a 400 instead of a message
with a hole in it.

Any member may create macros and use all of the org's macros; only a macro's creator or an
ADMIN may change or delete it.
"""

from __future__ import annotations

import re
from typing import Any

from pymongo.errors import DuplicateKeyError

from inbox import templating
from inbox.accounts.documents import Role, User
from inbox.audit import service as audit
from inbox.conversations.documents import Macro, Ticket
from inbox.conversations.views import MacroView, macro_view
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from inbox.errors import Conflict, Forbidden, ValidationFailed
from inbox.queries import get_in_org

MAX_RENDERED = 4096  # what one reply may hold (web.schemas.MessageBody)

# What a macro may use: the campaign templates' `customer`, plus the ticket and the agent.
VARIABLES: dict[str, Any] = {
    **templating.CUSTOMER_VARIABLES,
    "ticket": {"id": True, "subject": True},
    "agent": {"name": True},
}


class _AnyValue(str):
    """Stands in for any `customer.metadata` value in the trial render: a string, whose
    attributes and items are stand-ins too."""

    def __getattr__(self, name: str) -> _AnyValue:
        if name.startswith("_"):
            raise AttributeError(name)
        return _AnyValue("sample")

    def __getitem__(self, key: Any) -> _AnyValue:  # type: ignore[override]
        return _AnyValue("sample")


class _AnyMetadata(dict):
    def __missing__(self, key: str) -> _AnyValue:
        return _AnyValue("sample")


def _sample_context() -> dict[str, Any]:
    return {
        "customer": {
            "name": "Sample Customer",
            "platform": "WHATSAPP",
            "externalId": "15550001111",
            "metadata": _AnyMetadata(),
        },
        "ticket": {"id": "00000000-0000-0000-0000-000000000000", "subject": "Sample subject"},
        "agent": {"name": "Sample Agent"},
    }


def check_template(content: str, field: str = "content") -> None:
    """400 (details under `field`) unless `content` parses, uses only known variables, and
    renders for a sample conversation (catching `{{ 1/0 }}`, unsafe attributes and the like
    at save time too)."""
    templating.validate_field(content, VARIABLES, field=field)
    try:
        templating.render(content, _sample_context())
    except templating.TemplateRenderError as exc:
        raise ValidationFailed(
            f"Template cannot be rendered: {exc}",
            code="TEMPLATE_INVALID",
            details={field: str(exc)},
        ) from exc


async def views(macros: list[Macro]) -> list[MacroView]:
    creator_ids = list({m.created_by for m in macros})
    creators = (
        {u.id: u for u in await User.find({"_id": {"$in": creator_ids}}).to_list()}
        if creator_ids
        else {}
    )
    return [macro_view(m, creators.get(m.created_by)) for m in macros]


async def view(macro: Macro) -> MacroView:
    return (await views([macro]))[0]


async def list_macros(
    org_id: str, skip: int, limit: int, search: str | None = None
) -> tuple[list[MacroView], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if search:
        query["name"] = {"$regex": re.escape(search), "$options": "i"}
    found = Macro.find(query)
    total = await found.count()
    page = await found.sort(+Macro.name, +Macro.id).skip(skip).limit(limit).to_list()
    return await views(page), total


async def get(org_id: str, macro_id: str) -> Macro:
    return await get_in_org(Macro, org_id, macro_id, "Macro")


def _name_taken(name: str) -> Conflict:
    return Conflict(
        "A macro with this name already exists",
        code="MACRO_NAME_TAKEN",
        details={"name": f"{name!r} is already used by another macro"},
    )


async def create(user: User, *, name: str, content: str) -> MacroView:
    check_template(content)
    macro = Macro(org_id=user.org_id, name=name, content=content, created_by=user.id)
    try:
        await macro.insert()
    except DuplicateKeyError as exc:
        raise _name_taken(name) from exc
    await audit.record(user, "macro.create", "macro", macro.id, {"name": name})
    return await view(macro)


def _may_change(user: User, macro: Macro) -> None:
    if user.role != Role.ADMIN and macro.created_by != user.id:
        raise Forbidden("Only the macro's creator or an ADMIN may change it")


async def update(
    user: User, macro_id: str, *, name: str | None = None, content: str | None = None
) -> MacroView:
    macro = await get(user.org_id, macro_id)
    _may_change(user, macro)
    changed: list[str] = []
    if content is not None and content != macro.content:
        check_template(content)
        macro.content = content
        changed.append("content")
    if name is not None and name != macro.name:
        macro.name = name
        changed.append("name")
    if not changed:
        return await view(macro)
    macro.updated_at = utcnow()
    try:
        await macro.save()
    except DuplicateKeyError as exc:
        raise _name_taken(macro.name) from exc
    await audit.record(
        user, "macro.update", "macro", macro.id, {"name": macro.name, "changed": changed}
    )
    return await view(macro)


async def delete(user: User, macro_id: str) -> None:
    macro = await get(user.org_id, macro_id)
    _may_change(user, macro)
    await macro.delete()
    await audit.record(user, "macro.delete", "macro", macro.id, {"name": macro.name})


async def render_for_ticket(user: User, macro_id: str, ticket: Ticket) -> str:
    """The macro's text for this ticket's customer, signed by `user` (the sending agent)."""
    macro = await Macro.find_one(Macro.org_id == user.org_id, Macro.id == macro_id)
    if macro is None:
        # The body named it, so this is bad input rather than a missing URL.
        raise ValidationFailed("Unknown macro", details={"macroId": "no such macro"})
    customer = (
        await Customer.find_one(Customer.org_id == ticket.org_id, Customer.id == ticket.customer_id)
        if ticket.customer_id
        else None
    )
    context = {
        "customer": templating.customer_context(customer),
        "ticket": {"id": ticket.id, "subject": ticket.subject},
        "agent": {"name": user.name},
    }
    try:
        text = templating.render(macro.content, context)
    except templating.TemplateRenderError as exc:
        raise ValidationFailed(
            "The macro cannot be rendered for this conversation",
            code="MACRO_RENDER_FAILED",
            details={"macroId": str(exc)},
        ) from exc
    if not text.strip():
        raise ValidationFailed(
            "The macro renders to an empty message",
            code="MACRO_RENDER_FAILED",
            details={"macroId": "renders to nothing for this customer"},
        )
    if len(text) > MAX_RENDERED:
        raise ValidationFailed(
            "The rendered macro is too long",
            code="MACRO_RENDER_FAILED",
            details={"macroId": f"renders to {len(text)} characters; at most {MAX_RENDERED}"},
        )
    return text

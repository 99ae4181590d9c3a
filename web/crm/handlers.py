"""/orgs/{orgId}/customers: the org's customers (one per person, CRM fields included), their
tickets, merging duplicates, and the overview figures."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.conversations.views import TicketView
from inbox.crm import customers as customer_service
from inbox.crm.customer_views import (
    CustomerDashboardView,
    CustomerView,
    PlatformCountsView,
    customer_view,
)
from inbox.crm.views import CustomerDetailView
from web import keys
from web.auth import authenticated, current_user
from web.crm.schemas import CustomerCreateBody, CustomerMergeBody, CustomerQuery, CustomerUpdateBody
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok

OPERATION_PREFIX = "customers"  # operation ids in /openapi.json


@spec(
    "List customers",
    description=(
        "Most recently heard from first unless `sortBy` says otherwise. `search` matches part "
        "of the name, e-mail or phone in any case, as literal text; `platform` matches any of "
        "the customer's identities; `filter` picks customers with or without orders."
    ),
    tags=["customers"],
    query=CustomerQuery,
    response=CustomerView,
    list_response=True,
)
@authenticated()
async def list_customers(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, CustomerQuery)
    found, total = await customer_service.list_customers(
        current_user(request).org_id,
        customer_service.CustomerFilters(
            platform=q.platform,
            search=q.search,
            orders=q.filter,
            status=q.status,
            tag=q.tag,
            sort_by=q.sort_by,
            sort_order=q.sort_order,
        ),
        page.skip,
        page.limit,
    )
    return paged_response(request, [customer_view(c).dump() for c in found], total, page)


def _fields(body: CustomerCreateBody | CustomerUpdateBody) -> customer_service.CustomerFields:
    return customer_service.CustomerFields(
        **{name: getattr(body, name) for name in customer_service.CustomerFields.__annotations__}
    )


@spec(
    "Create a customer",
    description=(
        "E-mail addresses are unique per org and phone numbers are stored in E.164: a customer "
        "already holding either (including a WhatsApp customer writing from that number) is a "
        "409 naming them in `details.existingCustomerId`."
    ),
    tags=["customers"],
    body=CustomerCreateBody,
    response=CustomerView,
    status=201,
    errors=[409],
)
@authenticated()
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, CustomerCreateBody)
    customer = await customer_service.create(
        request.app[keys.DEPS].events, current_user(request), _fields(body)
    )
    return web.json_response(customer_view(customer).dump(), status=201)


@spec(
    "Get a customer with their latest tickets and orders",
    tags=["customers"],
    response=CustomerDetailView,
)
@authenticated()
async def get(request: web.Request) -> web.Response:
    found = await customer_service.detail(
        current_user(request).org_id, request.match_info["customerId"]
    )
    return web.json_response(found.dump())


@spec(
    "Update a customer",
    description="Only the fields given change; `null` clears e-mail, phone, notes and the like.",
    tags=["customers"],
    body=CustomerUpdateBody,
    response=CustomerView,
    errors=[409],
)
@authenticated()
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, CustomerUpdateBody)
    customer = await customer_service.update(
        request.app[keys.DEPS].events,
        current_user(request),
        request.match_info["customerId"],
        _fields(body),
        set(body.model_fields_set),
    )
    return web.json_response(customer_view(customer).dump())


@spec(
    "Delete a customer and their closed conversations (ADMIN)",
    description=(
        "Refused (409) while the customer has orders (set the status to inactive instead) "
        "or an open ticket (close it first)."
    ),
    tags=["customers"],
    response=Ok,
    errors=[403, 409],
)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    await customer_service.delete(
        request.app[keys.DEPS].events, current_user(request), request.match_info["customerId"]
    )
    return web.json_response(Ok(message="Customer deleted").model_dump())


@spec(
    "Merge another customer into this one",
    description=(
        "The other customer's identities, tickets and orders move to this one, order totals "
        "add up, blank fields are filled from the other, and the other is deleted."
    ),
    tags=["customers"],
    body=CustomerMergeBody,
    response=CustomerView,
)
@authenticated()
async def merge(request: web.Request) -> web.Response:
    body = await json_body(request, CustomerMergeBody)
    customer = await customer_service.merge(
        request.app[keys.DEPS].events,
        current_user(request),
        request.match_info["customerId"],
        body.other_id,
    )
    return web.json_response(customer_view(customer).dump())


@spec(
    "List a customer's tickets, newest activity first",
    tags=["customers"],
    response=TicketView,
    list_response=True,
)
@authenticated()
async def tickets(request: web.Request) -> web.Response:
    page = page_of(request)
    found, total = await customer_service.tickets_of(
        current_user(request).org_id, request.match_info["customerId"], page.skip, page.limit
    )
    return paged_response(request, [t.dump() for t in found], total, page)


@spec("Customers per platform (zeros included)", tags=["customers"], response=PlatformCountsView)
@authenticated()
async def platform_stats(request: web.Request) -> web.Response:
    counts = await customer_service.platform_counts(current_user(request).org_id)
    return web.json_response(counts.dump())


@spec(
    "Customer overview: totals, active, new, per platform, latest conversations",
    tags=["customers"],
    response=CustomerDashboardView,
)
@authenticated()
async def dashboard(request: web.Request) -> web.Response:
    board = await customer_service.dashboard(current_user(request).org_id)
    return web.json_response(board.dump())

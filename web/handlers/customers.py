"""/orgs/{orgId}/customers: the org's customers, their tickets, and the overview figures."""

from __future__ import annotations

from aiohttp import web

from inbox.services import customers as customer_service
from inbox.views import (
    CustomerDashboardView,
    CustomerView,
    PlatformCountsView,
    TicketView,
    customer_view,
)
from web.auth import authenticated, current_user
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import query
from web.schemas import CustomerQuery


@spec(
    "List customers, most recently heard from first",
    description="`search` matches part of the name in any case, as literal text.",
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
        customer_service.CustomerFilters(platform=q.platform, search=q.search),
        page.skip,
        page.limit,
    )
    return paged_response(request, [customer_view(c).dump() for c in found], total, page)


@spec("Get a customer", tags=["customers"], response=CustomerView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    customer = await customer_service.get(
        current_user(request).org_id, request.match_info["customerId"]
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

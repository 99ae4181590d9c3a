"""/orgs/{orgId}/customers: the org's customers (one per person, CRM fields included), their
tickets, merging duplicates, and the overview figures."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.conversations.views import TicketView
from inbox.crm import customers as customer_service
from inbox.crm.customer_views import CustomerDashboardView, CustomerView, PlatformCountsView
from inbox.crm.views import CustomerDetailView
from web.crm.schemas import CustomerCreateBody, CustomerMergeBody, CustomerQuery, CustomerUpdateBody
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("customers")


def _fields(body: CustomerCreateBody | CustomerUpdateBody) -> customer_service.CustomerFields:
    return customer_service.CustomerFields(
        **{name: getattr(body, name) for name in customer_service.CustomerFields.__annotations__}
    )


@routes.get(
    "/orgs/{orgId}/customers",
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
async def list_customers(call: Call[None, CustomerQuery]) -> Paged:
    q = call.query
    return Paged(
        *await customer_service.list_customers(
            call.org_id,
            customer_service.CustomerFilters(
                platform=q.platform,
                search=q.search,
                orders=q.filter,
                status=q.status,
                tag=q.tag,
                sort_by=q.sort_by,
                sort_order=q.sort_order,
            ),
            call.page.skip,
            call.page.limit,
        )
    )


@routes.get(
    "/orgs/{orgId}/customers/stats/platforms",
    "Customers per platform (zeros included)",
    tags=["customers"],
    response=PlatformCountsView,
)
async def platform_stats(call: Call[None, None]) -> PlatformCountsView:
    return await customer_service.platform_counts(call.org_id)


@routes.get(
    "/orgs/{orgId}/customers/overview/dashboard",
    "Customer overview: totals, active, new, per platform, latest conversations",
    tags=["customers"],
    response=CustomerDashboardView,
)
async def dashboard(call: Call[None, None]) -> CustomerDashboardView:
    return await customer_service.dashboard(call.org_id)


@routes.post(
    "/orgs/{orgId}/customers",
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
async def create(call: Call[CustomerCreateBody, None]) -> CustomerView:
    return await customer_service.create(
        call.deps.events, call.user, _fields(call.body), caches=call.deps.caches
    )


@routes.get(
    "/orgs/{orgId}/customers/{customerId}",
    "Get a customer with their latest tickets and orders",
    tags=["customers"],
    response=CustomerDetailView,
)
async def get(call: Call[None, None]) -> CustomerDetailView:
    return await customer_service.detail(
        call.org_id, call.path("customerId"), caches=call.deps.caches
    )


@routes.put(
    "/orgs/{orgId}/customers/{customerId}",
    "Update a customer",
    description="Only the fields given change; `null` clears e-mail, phone, notes and the like.",
    tags=["customers"],
    body=CustomerUpdateBody,
    response=CustomerView,
    errors=[409],
)
async def update(call: Call[CustomerUpdateBody, None]) -> CustomerView:
    return await customer_service.update(
        call.deps.events,
        call.user,
        call.path("customerId"),
        _fields(call.body),
        set(call.body.model_fields_set),
        caches=call.deps.caches,
    )


@routes.delete(
    "/orgs/{orgId}/customers/{customerId}",
    "Delete a customer and their closed conversations (ADMIN)",
    role=Role.ADMIN,
    description=(
        "Refused (409) while the customer has orders (set the status to inactive instead) "
        "or an open ticket (close it first)."
    ),
    tags=["customers"],
    response=Ok,
    errors=[403, 409],
)
async def delete(call: Call[None, None]) -> Ok:
    await customer_service.delete(
        call.deps.events, call.user, call.path("customerId"), caches=call.deps.caches
    )
    return Ok(message="Customer deleted")


@routes.get(
    "/orgs/{orgId}/customers/{customerId}/tickets",
    "List a customer's tickets, newest activity first",
    tags=["customers"],
    response=TicketView,
    list_response=True,
)
async def tickets(call: Call[None, None]) -> Paged:
    return Paged(
        *await customer_service.tickets_of(
            call.org_id,
            call.path("customerId"),
            call.page.skip,
            call.page.limit,
            caches=call.deps.caches,
        )
    )


@routes.post(
    "/orgs/{orgId}/customers/{customerId}/merge",
    "Merge another customer into this one",
    description=(
        "The other customer's identities, tickets and orders move to this one, order totals "
        "add up, blank fields are filled from the other, and the other is deleted."
    ),
    tags=["customers"],
    body=CustomerMergeBody,
    response=CustomerView,
)
async def merge(call: Call[CustomerMergeBody, None]) -> CustomerView:
    return await customer_service.merge(
        call.deps.events, call.user, call.path("customerId"), call.body.other_id
    )

"""/orgs/{orgId}/segments: saved customer segments, their customers, and previews.

Any member may read segments and preview conditions; creating, changing and deleting them is
for ADMINs (a segment is a campaign's audience)."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.crm import segments as segment_service
from inbox.crm.customer_views import CustomerView
from inbox.crm.segment_views import SegmentPreviewView, SegmentView
from web.crm.segment_schemas import (
    SegmentBody,
    SegmentPreviewBody,
    SegmentPreviewQuery,
    SegmentQuery,
    SegmentUpdateBody,
)
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("segments")

_TAGS = ["segments"]
_CONDITIONS_400 = (
    " Unknown fields or operators and values of the wrong type are a 400 naming the condition "
    "(`conditions.<i>.field`, `.operator`, `.value`)."
)


@routes.get(
    "/orgs/{orgId}/segments",
    "List segments, newest first",
    description="`customerCount` is as of `countedAt`; a segment's own GET counts again.",
    tags=_TAGS,
    query=SegmentQuery,
    response=SegmentView,
    list_response=True,
)
async def list_segments(call: Call[None, SegmentQuery]) -> Paged:
    return Paged(
        *await segment_service.list_segments(
            call.org_id, call.page.skip, call.page.limit, search=call.query.search
        )
    )


@routes.post(
    "/orgs/{orgId}/segments",
    "Create a segment (ADMIN)",
    role=Role.ADMIN,
    description="Conditions combine with AND (`match: all`) or OR (`match: any`)."
    + _CONDITIONS_400,
    tags=_TAGS,
    body=SegmentBody,
    response=SegmentView,
    status=201,
    errors=[409],
)
async def create(call: Call[SegmentBody, None]) -> SegmentView:
    body = call.body
    return await segment_service.create(
        call.user,
        name=body.name,
        description=body.description,
        conditions=[c.model_dump() for c in body.conditions],
        match=body.match,
    )


@routes.post(
    "/orgs/{orgId}/segments/preview",
    "Preview conditions without saving: how many customers, and the first of them",
    description="Nothing is stored." + _CONDITIONS_400,
    tags=_TAGS,
    body=SegmentPreviewBody,
    query=SegmentPreviewQuery,
    response=SegmentPreviewView,
)
async def preview(call: Call[SegmentPreviewBody, SegmentPreviewQuery]) -> SegmentPreviewView:
    return await segment_service.preview(
        call.org_id,
        [c.model_dump() for c in call.body.conditions],
        call.body.match,
        call.query.limit,
    )


@routes.get(
    "/orgs/{orgId}/segments/{segmentId}",
    "Get a segment, counted now",
    tags=_TAGS,
    response=SegmentView,
)
async def get(call: Call[None, None]) -> SegmentView:
    return await segment_service.detail(call.org_id, call.path("segmentId"))


@routes.put(
    "/orgs/{orgId}/segments/{segmentId}",
    "Update a segment (ADMIN)",
    role=Role.ADMIN,
    description="Only the fields given change; `description: null` clears it." + _CONDITIONS_400,
    tags=_TAGS,
    body=SegmentUpdateBody,
    response=SegmentView,
    errors=[409],
)
async def update(call: Call[SegmentUpdateBody, None]) -> SegmentView:
    body = call.body
    changes: dict = {}
    if "description" in body.model_fields_set:
        changes["description"] = body.description
    return await segment_service.update(
        call.user,
        call.path("segmentId"),
        name=body.name,
        conditions=[c.model_dump() for c in body.conditions]
        if body.conditions is not None
        else None,
        match=body.match,
        **changes,
    )


@routes.delete(
    "/orgs/{orgId}/segments/{segmentId}",
    "Delete a segment (ADMIN)",
    role=Role.ADMIN,
    tags=_TAGS,
    response=Ok,
)
async def delete(call: Call[None, None]) -> Ok:
    await segment_service.delete(call.user, call.path("segmentId"))
    return Ok(message="Segment deleted")


@routes.get(
    "/orgs/{orgId}/segments/{segmentId}/customers",
    "The segment's customers now, newest first",
    description="Evaluated by MongoDB on every call; `X-Total-Count` is the segment's size.",
    tags=_TAGS,
    response=CustomerView,
    list_response=True,
)
async def customers(call: Call[None, None]) -> Paged:
    return Paged(
        *await segment_service.customers_of(
            call.org_id, call.path("segmentId"), call.page.skip, call.page.limit
        )
    )

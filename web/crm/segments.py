"""/orgs/{orgId}/segments: saved customer segments, their customers, and previews.

Any member may read segments and preview conditions; creating, changing and deleting them is
for ADMINs (a segment is a campaign's audience)."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.crm import segments as segment_service
from inbox.crm.customer_views import CustomerView, customer_view
from inbox.crm.segment_views import SegmentPreviewView, SegmentView, segment_view
from web.auth import authenticated, current_user
from web.crm.segment_schemas import (
    SegmentBody,
    SegmentPreviewBody,
    SegmentPreviewQuery,
    SegmentQuery,
    SegmentUpdateBody,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok

_TAGS = ["segments"]
_CONDITIONS_400 = (
    " Unknown fields or operators and values of the wrong type are a 400 naming the condition "
    "(`conditions.<i>.field`, `.operator`, `.value`)."
)


@spec(
    "List segments, newest first",
    description="`customerCount` is as of `countedAt`; a segment's own GET counts again.",
    tags=_TAGS,
    query=SegmentQuery,
    response=SegmentView,
    list_response=True,
)
@authenticated()
async def list_segments(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, SegmentQuery)
    found, total = await segment_service.list_segments(
        current_user(request).org_id, page.skip, page.limit, search=q.search
    )
    return paged_response(request, [segment_view(s).dump() for s in found], total, page)


@spec(
    "Create a segment (ADMIN)",
    description="Conditions combine with AND (`match: all`) or OR (`match: any`)."
    + _CONDITIONS_400,
    tags=_TAGS,
    body=SegmentBody,
    response=SegmentView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, SegmentBody)
    segment = await segment_service.create(
        current_user(request),
        name=body.name,
        description=body.description,
        conditions=[c.model_dump() for c in body.conditions],
        match=body.match,
    )
    return web.json_response(segment_view(segment).dump(), status=201)


@spec("Get a segment, counted now", tags=_TAGS, response=SegmentView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    segment = await segment_service.get(
        current_user(request).org_id, request.match_info["segmentId"]
    )
    segment = await segment_service.refresh_count(segment)
    return web.json_response(segment_view(segment).dump())


@spec(
    "Update a segment (ADMIN)",
    description="Only the fields given change; `description: null` clears it." + _CONDITIONS_400,
    tags=_TAGS,
    body=SegmentUpdateBody,
    response=SegmentView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, SegmentUpdateBody)
    changes: dict = {}
    if "description" in body.model_fields_set:
        changes["description"] = body.description
    segment = await segment_service.update(
        current_user(request),
        request.match_info["segmentId"],
        name=body.name,
        conditions=[c.model_dump() for c in body.conditions]
        if body.conditions is not None
        else None,
        match=body.match,
        **changes,
    )
    return web.json_response(segment_view(segment).dump())


@spec("Delete a segment (ADMIN)", tags=_TAGS, response=Ok)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    await segment_service.delete(current_user(request), request.match_info["segmentId"])
    return web.json_response(Ok(message="Segment deleted").model_dump())


@spec(
    "The segment's customers now, newest first",
    description="Evaluated by MongoDB on every call; `X-Total-Count` is the segment's size.",
    tags=_TAGS,
    response=CustomerView,
    list_response=True,
)
@authenticated()
async def customers(request: web.Request) -> web.Response:
    page = page_of(request)
    _, found, total = await segment_service.customers_of(
        current_user(request).org_id, request.match_info["segmentId"], page.skip, page.limit
    )
    return paged_response(request, [customer_view(c).dump() for c in found], total, page)


@spec(
    "Preview conditions without saving: how many customers, and the first of them",
    description="Nothing is stored." + _CONDITIONS_400,
    tags=_TAGS,
    body=SegmentPreviewBody,
    query=SegmentPreviewQuery,
    response=SegmentPreviewView,
)
@authenticated()
async def preview(request: web.Request) -> web.Response:
    q = query(request, SegmentPreviewQuery)
    body = await json_body(request, SegmentPreviewBody)
    found, total = await segment_service.preview(
        current_user(request).org_id,
        [c.model_dump() for c in body.conditions],
        body.match,
        q.limit,
    )
    view = SegmentPreviewView(count=total, customers=[customer_view(c) for c in found])
    return web.json_response(view.dump())

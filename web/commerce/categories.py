"""/orgs/{orgId}/categories: the catalogue's category tree. Members read; ADMINs write."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.commerce import categories as category_service
from inbox.commerce.catalogue_views import CategoryTreeNode, CategoryView, category_view
from web import keys
from web.auth import authenticated, current_user
from web.commerce.catalogue_schemas import (
    CategoryCreateBody,
    CategoryQuery,
    CategoryTreeQuery,
    CategoryUpdateBody,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok


@spec(
    "List categories, by sortOrder then name",
    description="`parentId=root` lists the top-level categories; `search` matches part of the "
    "name in any case, as literal text.",
    tags=["categories"],
    query=CategoryQuery,
    response=CategoryView,
    list_response=True,
)
@authenticated()
async def list_categories(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, CategoryQuery)
    found, total = await category_service.list_categories(
        current_user(request).org_id,
        category_service.CategoryFilters(
            parent_id=q.parent_id, is_active=q.is_active, search=q.search
        ),
        page.skip,
        page.limit,
    )
    return paged_response(request, [category_view(c).dump() for c in found], total, page)


@spec(
    "The category tree",
    description="Top-level categories with `children` nested, each level by sortOrder then name.",
    tags=["categories"],
    query=CategoryTreeQuery,
    response=CategoryTreeNode,
    list_response=True,
    paged=False,
)
@authenticated()
async def tree(request: web.Request) -> web.Response:
    q = query(request, CategoryTreeQuery)
    nodes = await category_service.tree(current_user(request).org_id, active_only=q.active_only)
    return web.json_response([n.dump() for n in nodes])


@spec("Get a category by its slug", tags=["categories"], response=CategoryView)
@authenticated()
async def get_by_slug(request: web.Request) -> web.Response:
    category = await category_service.get_by_slug(
        current_user(request).org_id, request.match_info["slug"]
    )
    return web.json_response(category_view(category).dump())


@spec("Get a category", tags=["categories"], response=CategoryView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    category = await category_service.get(
        current_user(request).org_id, request.match_info["categoryId"]
    )
    return web.json_response(category_view(category).dump())


@spec(
    "Create a category (ADMIN)",
    description="The slug is made from the name (`-2`, `-3`, ... when taken) unless given; "
    "a given slug already in use is a 409. `parentId` must be a category of the org.",
    tags=["categories"],
    body=CategoryCreateBody,
    response=CategoryView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, CategoryCreateBody)
    category = await category_service.create(
        request.app[keys.DEPS],
        current_user(request),
        name=body.name,
        slug=body.slug,
        description=body.description,
        image=body.image,
        parent_id=body.parent_id,
        is_active=body.is_active,
        sort_order=body.sort_order,
    )
    return web.json_response(category_view(category).dump(), status=201)


@spec(
    "Update a category (ADMIN)",
    description="Only the fields given change; the slug stays when the name changes. A "
    "parent that is the category itself or one of its descendants is a 400.",
    tags=["categories"],
    body=CategoryUpdateBody,
    response=CategoryView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def update(request: web.Request) -> web.Response:
    body = await json_body(request, CategoryUpdateBody)
    given = body.model_fields_set
    unset = category_service.UNSET
    category = await category_service.update(
        request.app[keys.DEPS],
        current_user(request),
        request.match_info["categoryId"],
        name=body.name,
        slug=body.slug,
        description=body.description if "description" in given else unset,
        image=body.image if "image" in given else unset,
        parent_id=body.parent_id if "parent_id" in given else unset,
        is_active=body.is_active,
        sort_order=body.sort_order,
    )
    return web.json_response(category_view(category).dump())


@spec(
    "Delete a category (ADMIN)",
    description="409 while it has subcategories or products (`details` says how many).",
    tags=["categories"],
    response=Ok,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def delete(request: web.Request) -> web.Response:
    await category_service.delete(
        request.app[keys.DEPS], current_user(request), request.match_info["categoryId"]
    )
    return web.json_response(Ok(message="Category deleted").model_dump())

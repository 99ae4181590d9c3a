"""/orgs/{orgId}/categories: the catalogue's category tree. Members read; ADMINs write."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.commerce import categories as category_service
from inbox.commerce.catalogue_views import CategoryTreeNode, CategoryView
from web.commerce.catalogue_schemas import (
    CategoryCreateBody,
    CategoryQuery,
    CategoryTreeQuery,
    CategoryUpdateBody,
)
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("categories")


@routes.get(
    "/orgs/{orgId}/categories",
    "List categories, by sortOrder then name",
    description="`parentId=root` lists the top-level categories; `search` matches part of the "
    "name in any case, as literal text.",
    tags=["categories"],
    query=CategoryQuery,
    response=CategoryView,
    list_response=True,
)
async def list_categories(call: Call[None, CategoryQuery]) -> Paged:
    q = call.query
    return Paged(
        *await category_service.list_categories(
            call.org_id,
            category_service.CategoryFilters(
                parent_id=q.parent_id, is_active=q.is_active, search=q.search
            ),
            call.page.skip,
            call.page.limit,
        )
    )


@routes.post(
    "/orgs/{orgId}/categories",
    "Create a category (ADMIN)",
    description="The slug is made from the name (`-2`, `-3`, ... when taken) unless given; "
    "a given slug already in use is a 409. `parentId` must be a category of the org.",
    tags=["categories"],
    body=CategoryCreateBody,
    response=CategoryView,
    status=201,
    errors=[409],
    role=Role.ADMIN,
)
async def create(call: Call[CategoryCreateBody, None]) -> CategoryView:
    body = call.body
    return await category_service.create(
        call.deps,
        call.user,
        name=body.name,
        slug=body.slug,
        description=body.description,
        image=body.image,
        parent_id=body.parent_id,
        is_active=body.is_active,
        sort_order=body.sort_order,
    )


@routes.get(
    "/orgs/{orgId}/categories/tree",
    "The category tree",
    description="Top-level categories with `children` nested, each level by sortOrder then name.",
    tags=["categories"],
    query=CategoryTreeQuery,
    response=CategoryTreeNode,
    list_response=True,
    paged=False,
)
async def tree(call: Call[None, CategoryTreeQuery]) -> list[CategoryTreeNode]:
    return await category_service.tree(call.org_id, active_only=call.query.active_only)


@routes.get(
    "/orgs/{orgId}/categories/slug/{slug}",
    "Get a category by its slug",
    tags=["categories"],
    response=CategoryView,
)
async def get_by_slug(call: Call[None, None]) -> CategoryView:
    return await category_service.get_by_slug(call.org_id, call.path("slug"))


@routes.get(
    "/orgs/{orgId}/categories/{categoryId}",
    "Get a category",
    tags=["categories"],
    response=CategoryView,
)
async def get(call: Call[None, None]) -> CategoryView:
    return await category_service.detail(call.org_id, call.path("categoryId"))


@routes.put(
    "/orgs/{orgId}/categories/{categoryId}",
    "Update a category (ADMIN)",
    description="Only the fields given change; the slug stays when the name changes. A "
    "parent that is the category itself or one of its descendants is a 400.",
    tags=["categories"],
    body=CategoryUpdateBody,
    response=CategoryView,
    errors=[409],
    role=Role.ADMIN,
)
async def update(call: Call[CategoryUpdateBody, None]) -> CategoryView:
    body = call.body
    given = body.model_fields_set
    unset = category_service.UNSET
    return await category_service.update(
        call.deps,
        call.user,
        call.path("categoryId"),
        name=body.name,
        slug=body.slug,
        description=body.description if "description" in given else unset,
        image=body.image if "image" in given else unset,
        parent_id=body.parent_id if "parent_id" in given else unset,
        is_active=body.is_active,
        sort_order=body.sort_order,
    )


@routes.delete(
    "/orgs/{orgId}/categories/{categoryId}",
    "Delete a category (ADMIN)",
    description="409 while it has subcategories or products (`details` says how many).",
    tags=["categories"],
    response=Ok,
    errors=[409],
    role=Role.ADMIN,
)
async def delete(call: Call[None, None]) -> Ok:
    await category_service.delete(call.deps, call.user, call.path("categoryId"))
    return Ok(message="Category deleted")

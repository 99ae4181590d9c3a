"""Categories: the catalogue's tree (parent/children), with slugs unique per org.

Rules:
- A parent must be a category of the same org; a category can never be its own ancestor
  (moving it under itself or one of its descendants is a 400), and the tree is at most
  MAX_DEPTH levels deep.
- A category with children or products cannot be deleted (409, with how many of each):
  move or delete those first, so no product silently loses its category.
- The slug is made from the name on create and kept when the name changes (links to it stay
  valid); an explicit `slug` sets it, 409 when another category has it.

An org's categories are few (a catalogue tree, not a log), so ancestry checks and the tree
load the org's (id, parent) pairs in one query and work in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.commerce import slugs
from inbox.commerce.catalogue_views import CategoryTreeNode, CategoryView, category_view
from inbox.commerce.documents import Category, Product
from inbox.document_base import utcnow
from inbox.errors import Conflict, NotFound, ValidationFailed
from inbox.ports import Deps
from inbox.queries import get_in_org

MAX_DEPTH = 10
UNSET: Any = object()  # "not given" in updates, where None means "clear it"


@dataclass(frozen=True)
class CategoryFilters:
    parent_id: str | None = None  # "root" for top-level categories
    is_active: bool | None = None
    search: str | None = None


async def list_categories(
    org_id: str, filters: CategoryFilters, skip: int, limit: int
) -> tuple[list[CategoryView], int]:
    query: dict[str, Any] = {"orgId": org_id}
    if filters.parent_id == "root":
        query["parentId"] = None
    elif filters.parent_id:
        query["parentId"] = filters.parent_id
    if filters.is_active is not None:
        query["isActive"] = filters.is_active
    if filters.search:
        # Escaped: the search box is text, not a pattern.
        query["name"] = {"$regex": re.escape(filters.search), "$options": "i"}
    found = Category.find(query)
    total = await found.count()
    page = (
        await found.sort(+Category.sort_order, +Category.name, +Category.id)
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return views(page), total


async def get(org_id: str, category_id: str) -> Category:
    return await get_in_org(Category, org_id, category_id, "Category")


async def detail(org_id: str, category_id: str) -> CategoryView:
    return category_view(await get(org_id, category_id))


async def get_by_slug(org_id: str, slug: str) -> CategoryView:
    category = await Category.find_one(Category.org_id == org_id, Category.slug == slug)
    if category is None:
        raise NotFound("Category not found")
    return category_view(category)


async def parents_of(org_id: str) -> dict[str, str | None]:
    """Every category of the org as id -> parent id (one query, two fields each)."""
    cursor = Category.get_pymongo_collection().find({"orgId": org_id}, {"_id": 1, "parentId": 1})
    return {doc["_id"]: doc.get("parentId") for doc in await cursor.to_list()}


def descendants(parents: dict[str, str | None], root: str) -> set[str]:
    """`root` and every category below it."""
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:  # a stored cycle (a race) must not loop forever
                found.add(child)
                stack.append(child)
    return found


def depth_of(parents: dict[str, str | None], category_id: str) -> int:
    """Levels from the top down to `category_id` (a top-level category is 1)."""
    depth, seen, current = 0, set(), category_id
    while current is not None and current not in seen and current in parents:
        seen.add(current)
        depth += 1
        current = parents[current]
    return depth


def height_below(parents: dict[str, str | None], root: str) -> int:
    """Levels in the subtree under `root`, `root` included (a leaf is 1)."""
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    height, level, seen = 0, [root], {root}
    while level:
        height += 1
        level = [c for n in level for c in children.get(n, []) if c not in seen]
        seen.update(level)
    return height


def check_parent(
    parents: dict[str, str | None], category_id: str | None, parent_id: str | None
) -> None:
    """400 (details under `parentId`) unless `parent_id` may hold `category_id` (None: a
    category being created): it exists in the org, is not the category or one of its
    descendants, and the tree stays within MAX_DEPTH levels."""
    if parent_id is None:
        return
    if parent_id not in parents:
        raise ValidationFailed(
            "Parent category not found",
            code="PARENT_NOT_FOUND",
            details={"parentId": "no such category in this organisation"},
        )
    below = descendants(parents, category_id) if category_id is not None else set()
    if parent_id in below:
        raise ValidationFailed(
            "A category cannot be its own ancestor",
            code="CATEGORY_CYCLE",
            details={
                "parentId": "is this category itself"
                if parent_id == category_id
                else "is a descendant of this category"
            },
        )
    height = height_below(parents, category_id) if category_id is not None else 1
    if depth_of(parents, parent_id) + height > MAX_DEPTH:
        raise ValidationFailed(
            "Category tree too deep",
            code="CATEGORY_TOO_DEEP",
            details={"parentId": f"the tree may be at most {MAX_DEPTH} levels deep"},
        )


def _slug_taken(slug: str) -> Conflict:
    return Conflict(
        "A category with this slug already exists",
        code="SLUG_TAKEN",
        details={"slug": f"{slug!r} is already used by another category"},
    )


async def _publish(deps: Deps, event: str, org_id: str, data: dict[str, Any]) -> None:
    await deps.events.publish(org_id, event, data)


async def create(
    deps: Deps,
    actor: User,
    *,
    name: str,
    slug: str | None = None,
    description: str | None = None,
    image: str | None = None,
    parent_id: str | None = None,
    is_active: bool = True,
    sort_order: int = 0,
) -> CategoryView:
    org_id = actor.org_id
    if parent_id is not None:
        check_parent(await parents_of(org_id), None, parent_id)

    async def insert(chosen: str) -> Category:
        category = Category(
            org_id=org_id,
            name=name,
            slug=chosen,
            description=description,
            image=image,
            parent_id=parent_id,
            is_active=is_active,
            sort_order=sort_order,
        )
        await category.insert()
        return category

    collection = Category.get_pymongo_collection()
    if slug is not None:
        try:
            category = await insert(slug)
        except DuplicateKeyError as exc:
            raise _slug_taken(slug) from exc
    else:
        category = await slugs.with_unique_slug(
            collection, org_id, slugs.slugify(name, "category"), insert
        )
    await audit.record(
        actor,
        "category.create",
        "category",
        category.id,
        {"name": category.name, "slug": category.slug, "parentId": category.parent_id},
    )
    view = category_view(category)
    await _publish(deps, events.CATEGORY_CREATED, org_id, view.dump())
    return view


async def update(
    deps: Deps,
    actor: User,
    category_id: str,
    *,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = UNSET,
    image: str | None = UNSET,
    parent_id: str | None = UNSET,
    is_active: bool | None = None,
    sort_order: int | None = None,
) -> CategoryView:
    """Partial update: only the arguments given change (None clears description, image
    and parentId, making the category top-level)."""
    org_id = actor.org_id
    category = await get(org_id, category_id)
    changes: dict[str, Any] = {}
    if name is not None and name != category.name:
        changes["name"] = name
    if slug is not None and slug != category.slug:
        changes["slug"] = slug
    if description is not UNSET and description != category.description:
        changes["description"] = description
    if image is not UNSET and image != category.image:
        changes["image"] = image
    if parent_id is not UNSET and parent_id != category.parent_id:
        check_parent(await parents_of(org_id), category.id, parent_id)
        changes["parentId"] = parent_id
    if is_active is not None and is_active != category.is_active:
        changes["isActive"] = is_active
    if sort_order is not None and sort_order != category.sort_order:
        changes["sortOrder"] = sort_order
    if not changes:
        return category_view(category)
    now = utcnow()
    try:
        result = await Category.get_pymongo_collection().update_one(
            {"_id": category.id, "orgId": org_id}, {"$set": {**changes, "updatedAt": now}}
        )
    except DuplicateKeyError as exc:
        raise _slug_taken(changes["slug"]) from exc
    if result.matched_count == 0:
        raise NotFound("Category not found")
    category = await get(org_id, category.id)
    await audit.record(actor, "category.update", "category", category.id, {"changed": [*changes]})
    view = category_view(category)
    await _publish(deps, events.CATEGORY_UPDATED, org_id, view.dump())
    return view


async def delete(deps: Deps, actor: User, category_id: str) -> None:
    org_id = actor.org_id
    category = await get(org_id, category_id)
    children = await Category.find(
        Category.org_id == org_id, Category.parent_id == category.id
    ).count()
    products = await Product.find(
        Product.org_id == org_id, Product.category_id == category.id
    ).count()
    if children or products:
        raise Conflict(
            "The category still has subcategories or products; move or delete them first",
            code="CATEGORY_NOT_EMPTY",
            details={"children": children, "products": products},
        )
    await Category.get_pymongo_collection().delete_one({"_id": category.id, "orgId": org_id})
    await audit.record(actor, "category.delete", "category", category.id, {"name": category.name})
    await _publish(deps, events.CATEGORY_DELETED, org_id, {"id": category.id})


async def tree(org_id: str, active_only: bool = False) -> list[CategoryTreeNode]:
    """Top-level categories with their children nested, each level by sortOrder then name.
    With `active_only`, an inactive category is left out with everything below it."""
    query: dict[str, Any] = {"orgId": org_id}
    if active_only:
        query["isActive"] = True
    everything = await Category.find(query).to_list()
    by_id = {c.id: c for c in everything}
    children: dict[str | None, list[Category]] = {}
    for c in everything:
        # Below an inactive (left out) parent: not a root either, so left out too.
        parent = c.parent_id if c.parent_id in by_id or c.parent_id is None else "-"
        children.setdefault(parent, []).append(c)

    def key(c: Category) -> tuple[int, str, str]:
        return (c.sort_order, c.name.casefold(), c.id)

    def nodes(parent: str | None, depth: int) -> list[CategoryTreeNode]:
        if depth > MAX_DEPTH:  # only a stored cycle could get here
            return []
        return [
            CategoryTreeNode(**category_view(c).model_dump(), children=nodes(c.id, depth + 1))
            for c in sorted(children.get(parent, []), key=key)
        ]

    return nodes(None, 1)


def views(categories: list[Category]) -> list[CategoryView]:
    return [category_view(c) for c in categories]

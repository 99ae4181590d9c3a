"""Products: the catalogue orders are placed from.

Rules:
- `price` >= 0 (rounded to cents), `stockQuantity` >= 0; a category must be one of the org's.
- The slug is made from the name on create (`-2`, `-3`, ... on a clash) and kept when the
  name changes, so links stay valid; an explicit `slug` sets it (409 when taken).
- A SKU is unique per org, compared without case (409 when taken).
- Stock and sales counts change only by `$inc`/`$set` of those fields, never by writing the
  whole document back, so an update never undoes an order's concurrent decrement; a stock
  adjustment that would go below zero is refused atomically (409).
- Images are uploaded (JPEG/PNG/GIF/WebP, judged by their bytes), at most MAX_IMAGES per
  product, kept in the media storage and listed in `images` as public URLs.
- Listing by `category` includes the products of its subcategories unless asked not to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pymongo.errors import DuplicateKeyError

from inbox import events
from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.commerce import categories as category_service
from inbox.commerce import slugs
from inbox.commerce.catalogue_views import ProductImageView, ProductView, product_view
from inbox.commerce.documents import Category, Product, product_sku_key
from inbox.document_base import utcnow
from inbox.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from inbox.ports import Deps
from inbox.queries import find_one_and_delete, get_in_org
from inbox.storage import content_type_of, is_valid_key, new_key, sniff_image

MAX_IMAGES = 10
MAX_IMAGE_BYTES = 4 * 1024 * 1024
MEDIA_PATH = "/media/"


class SortBy(StrEnum):
    CREATED_AT = "createdAt"
    NAME = "name"
    PRICE = "price"
    SALES_COUNT = "salesCount"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class ProductFilters:
    category_id: str | None = None
    include_subcategories: bool = True
    is_active: bool | None = None
    featured: bool | None = None
    search: str | None = None  # part of the name, SKU or description, any case, literal
    min_price: float | None = None
    max_price: float | None = None
    sort_by: SortBy = SortBy.CREATED_AT
    sort_order: SortOrder = SortOrder.DESC


async def _match(org_id: str, f: ProductFilters) -> dict[str, Any]:
    query: dict[str, Any] = {"orgId": org_id}
    if f.category_id:
        if f.include_subcategories:
            below = category_service.descendants(
                await category_service.parents_of(org_id), f.category_id
            )
            query["categoryId"] = {"$in": sorted(below)}
        else:
            query["categoryId"] = f.category_id
    if f.is_active is not None:
        query["isActive"] = f.is_active
    if f.featured is not None:
        query["featured"] = f.featured
    if f.search:
        # Escaped: the search box is text, not a pattern (and no ReDoS through it).
        pattern = {"$regex": re.escape(f.search), "$options": "i"}
        query["$or"] = [{"name": pattern}, {"sku": pattern}, {"description": pattern}]
    if f.min_price is not None or f.max_price is not None:
        query["price"] = {
            **({"$gte": f.min_price} if f.min_price is not None else {}),
            **({"$lte": f.max_price} if f.max_price is not None else {}),
        }
    return query


async def list_products(
    org_id: str, filters: ProductFilters, skip: int, limit: int
) -> tuple[list[ProductView], int]:
    found = Product.find(await _match(org_id, filters))
    total = await found.count()
    direction = 1 if filters.sort_order == SortOrder.ASC else -1
    # `_id` last: a stable order, so pages neither repeat nor skip products with equal keys.
    page = (
        await found.sort([(filters.sort_by.value, direction), ("_id", direction)])
        .skip(skip)
        .limit(limit)
        .to_list()
    )
    return await views(page), total


async def views(products: list[Product]) -> list[ProductView]:
    """Views with each product's category (one query for the page)."""
    ids = list({p.category_id for p in products if p.category_id})
    cats = {c.id: c for c in await Category.find({"_id": {"$in": ids}}).to_list()} if ids else {}
    return [product_view(p, cats.get(p.category_id or "")) for p in products]


async def view(product: Product) -> ProductView:
    return (await views([product]))[0]


async def get(org_id: str, product_id: str) -> Product:
    return await get_in_org(Product, org_id, product_id, "Product")


async def detail(org_id: str, product_id: str) -> ProductView:
    return await view(await get(org_id, product_id))


async def get_by_slug(org_id: str, slug: str) -> ProductView:
    product = await Product.find_one(Product.org_id == org_id, Product.slug == slug)
    if product is None:
        raise NotFound("Product not found")
    return await view(product)


async def _check_category(org_id: str, category_id: str | None) -> None:
    if category_id is None:
        return
    if await Category.find_one(Category.org_id == org_id, Category.id == category_id) is None:
        raise ValidationFailed(
            "Category not found",
            code="CATEGORY_NOT_FOUND",
            details={"categoryId": "no such category in this organisation"},
        )


def _duplicate(exc: DuplicateKeyError, slug: str | None, sku: str | None) -> Conflict:
    if slugs.is_slug_clash(exc):
        return Conflict(
            "A product with this slug already exists",
            code="SLUG_TAKEN",
            details={"slug": f"{slug!r} is already used by another product"},
        )
    return Conflict(
        "A product with this SKU already exists",
        code="SKU_TAKEN",
        details={"sku": f"{sku!r} is already used by another product"},
    )


def _cents(amount: float) -> float:
    return round(amount, 2)


async def _publish(deps: Deps, event: str, product: Product) -> ProductView:
    """Publish `event` with the product's view, and return that view."""
    shown = await view(product)
    await deps.events.publish(product.org_id, event, shown.dump())
    return shown


async def create(
    deps: Deps,
    actor: User,
    *,
    name: str,
    price: float,
    slug: str | None = None,
    description: str | None = None,
    sku: str | None = None,
    barcode: str | None = None,
    category_id: str | None = None,
    tags: list[str] | None = None,
    is_active: bool = True,
    featured: bool = False,
    stock_quantity: int = 0,
) -> ProductView:
    org_id = actor.org_id
    await _check_category(org_id, category_id)

    async def insert(chosen: str) -> Product:
        product = Product(
            org_id=org_id,
            name=name,
            slug=chosen,
            description=description,
            sku=sku,
            barcode=barcode,
            price=_cents(price),
            category_id=category_id,
            tags=tags or [],
            is_active=is_active,
            featured=featured,
            stock_quantity=stock_quantity,
        )
        await product.insert()
        return product

    try:
        if slug is not None:
            product = await insert(slug)
        else:
            product = await slugs.with_unique_slug(
                Product.get_pymongo_collection(), org_id, slugs.slugify(name, "product"), insert
            )
    except DuplicateKeyError as exc:
        raise _duplicate(exc, slug, sku) from exc
    await audit.record(
        actor,
        "product.create",
        "product",
        product.id,
        {"name": product.name, "slug": product.slug, "sku": product.sku},
    )
    return await _publish(deps, events.PRODUCT_CREATED, product)


# Fields an update may set, snake_case -> stored name. Not `salesCount` (orders keep it) and
# not `images` (uploaded and deleted through their own endpoints).
_UPDATABLE = {
    "name": "name",
    "slug": "slug",
    "description": "description",
    "sku": "sku",
    "barcode": "barcode",
    "price": "price",
    "category_id": "categoryId",
    "tags": "tags",
    "is_active": "isActive",
    "featured": "featured",
    "stock_quantity": "stockQuantity",
}
_NOT_NULL = {"name", "slug", "price", "tags", "is_active", "featured", "stock_quantity"}


async def update(deps: Deps, actor: User, product_id: str, changes: dict[str, Any]) -> ProductView:
    """Partial update with the fields given (snake_case keys). None clears description, sku,
    barcode and categoryId; `stockQuantity` here sets the stock outright (as PATCH .../stock
    with `set`)."""
    org_id = actor.org_id
    product = await get(org_id, product_id)
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValidationFailed(
            "Unknown fields", details={k: "cannot be updated" for k in sorted(unknown)}
        )
    nulls = sorted(k for k in _NOT_NULL if k in changes and changes[k] is None)
    if nulls:
        raise ValidationFailed(
            "Invalid request", details={_UPDATABLE[k]: "must not be null" for k in nulls}
        )
    if "price" in changes:
        changes["price"] = _cents(changes["price"])
    if changes.get("category_id") is not None and changes["category_id"] != product.category_id:
        await _check_category(org_id, changes["category_id"])
    current = product.model_dump()
    diff = {k: v for k, v in changes.items() if current.get(k) != v}
    if not diff:
        return await view(product)
    stored: dict[str, Any] = {_UPDATABLE[k]: v for k, v in diff.items()}
    if "sku" in diff:
        stored["skuKey"] = product_sku_key(product.id, diff["sku"])
    try:
        result = await Product.get_pymongo_collection().update_one(
            {"_id": product.id, "orgId": org_id}, {"$set": {**stored, "updatedAt": utcnow()}}
        )
    except DuplicateKeyError as exc:
        raise _duplicate(exc, diff.get("slug"), diff.get("sku")) from exc
    if result.matched_count == 0:
        raise NotFound("Product not found")
    product = await get(org_id, product.id)
    await audit.record(
        actor, "product.update", "product", product.id, {"changed": [_UPDATABLE[k] for k in diff]}
    )
    return await _publish(deps, events.PRODUCT_UPDATED, product)


async def adjust_stock(
    deps: Deps, actor: User, product_id: str, *, delta: int | None = None, to: int | None = None
) -> ProductView:
    """Add `delta` (negative to take away) or set the stock `to` a value, atomically. A delta
    that would take the stock below zero changes nothing: 409 with the current stock."""
    org_id = actor.org_id
    if (delta is None) == (to is None):
        raise ValidationFailed(
            "Give exactly one of delta and set",
            details={"body": "exactly one of `delta` and `set` is required"},
        )
    collection = Product.get_pymongo_collection()
    now = utcnow()
    if delta is not None:
        guard: dict[str, Any] = {"_id": product_id, "orgId": org_id}
        if delta < 0:
            guard["stockQuantity"] = {"$gte": -delta}
        result = await collection.update_one(
            guard, {"$inc": {"stockQuantity": delta}, "$set": {"updatedAt": now}}
        )
        if result.matched_count == 0:
            product = await get(org_id, product_id)  # 404 when it is not (or not ours)
            raise Conflict(
                "Not enough stock",
                code="INSUFFICIENT_STOCK",
                details={
                    "delta": f"would take the stock below zero (it is {product.stock_quantity})",
                    "stockQuantity": product.stock_quantity,
                },
            )
    else:
        result = await collection.update_one(
            {"_id": product_id, "orgId": org_id},
            {"$set": {"stockQuantity": to, "updatedAt": now}},
        )
        if result.matched_count == 0:
            raise NotFound("Product not found")
    product = await get(org_id, product_id)
    await audit.record(
        actor,
        "product.stock",
        "product",
        product.id,
        {
            **({"delta": delta} if delta is not None else {"set": to}),
            "stockQuantity": product.stock_quantity,
        },
    )
    return await _publish(deps, events.PRODUCT_UPDATED, product)


def media_key_of(url: str) -> str | None:
    """The storage key of one of our media URLs (".../media/<key>"), else None (an image
    somewhere else, e.g. from an ERP sync)."""
    head, sep, key = url.rpartition(MEDIA_PATH)
    return key if sep and head and is_valid_key(key) else None


def media_url(public_url: str, key: str) -> str:
    return f"{public_url.rstrip('/')}{MEDIA_PATH}{key}"


def check_image(data: bytes) -> str:
    """The image's kind (its file extension); 400 unless it is a JPEG, PNG, GIF or WebP,
    413 beyond MAX_IMAGE_BYTES."""
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadTooLarge(
            "Image too large",
            code="IMAGE_TOO_LARGE",
            details={"image": f"at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB"},
        )
    kind = sniff_image(data)
    if kind is None:
        raise ValidationFailed(
            "Not a supported image",
            code="UNSUPPORTED_IMAGE",
            details={"image": "must be a JPEG, PNG, GIF or WebP image"},
        )
    return kind


def _image_limit() -> Conflict:
    return Conflict(
        "The product has as many images as it may",
        code="TOO_MANY_IMAGES",
        details={"image": f"a product holds at most {MAX_IMAGES} images"},
    )


async def ensure_room_for_image(org_id: str, product_id: str) -> Product:
    """404 or 409 before an upload is read at all."""
    product = await get(org_id, product_id)
    if len(product.images) >= MAX_IMAGES:
        raise _image_limit()
    return product


async def add_image(deps: Deps, actor: User, product_id: str, data: bytes) -> ProductImageView:
    """Store the image and append its URL to the product's `images`; the uploaded image with
    the product as it is now."""
    org_id = actor.org_id
    await ensure_room_for_image(org_id, product_id)
    key = new_key(check_image(data))
    url = media_url(deps.settings.public_url, key)
    await deps.media.save(key, data)
    # Guarded: two uploads at once can never take a product past MAX_IMAGES.
    result = await Product.get_pymongo_collection().update_one(
        {"_id": product_id, "orgId": org_id, f"images.{MAX_IMAGES - 1}": {"$exists": False}},
        {"$push": {"images": url}, "$set": {"updatedAt": utcnow()}},
    )
    if result.matched_count == 0:
        await deps.media.delete(key)
        await ensure_room_for_image(org_id, product_id)  # 404 if it was deleted meanwhile
        raise _image_limit()
    product = await get(org_id, product_id)
    await audit.record(
        actor, "product.image.add", "product", product.id, {"imageId": key, "size": len(data)}
    )
    return ProductImageView(
        id=key,
        url=url,
        content_type=content_type_of(key),
        size=len(data),
        product=await _publish(deps, events.PRODUCT_UPDATED, product),
    )


async def delete_image(deps: Deps, actor: User, product_id: str, image_id: str) -> ProductView:
    org_id = actor.org_id
    product = await get(org_id, product_id)
    urls = [u for u in product.images if media_key_of(u) == image_id]
    if not urls:
        raise NotFound("Image not found")
    await Product.get_pymongo_collection().update_one(
        {"_id": product.id, "orgId": org_id},
        {"$pull": {"images": {"$in": urls}}, "$set": {"updatedAt": utcnow()}},
    )
    await deps.media.delete(image_id)
    product = await get(org_id, product.id)
    await audit.record(actor, "product.image.delete", "product", product.id, {"imageId": image_id})
    return await _publish(deps, events.PRODUCT_UPDATED, product)


async def delete(deps: Deps, actor: User, product_id: str) -> None:
    """Delete the product and its uploaded images. Orders keep their own copy of the name,
    SKU and price, so past orders read the same afterwards."""
    org_id = actor.org_id
    # The deleted document itself: its images as they were at that moment, none left behind.
    deleted = await find_one_and_delete(
        Product.get_pymongo_collection(), {"_id": product_id, "orgId": org_id}
    )
    if deleted is None:
        raise NotFound("Product not found")
    product = Product.model_validate(deleted)
    for url in product.images:
        if (key := media_key_of(url)) is not None:
            await deps.media.delete(key)
    await audit.record(
        actor, "product.delete", "product", product.id, {"name": product.name, "sku": product.sku}
    )
    await deps.events.publish(org_id, events.PRODUCT_DELETED, {"id": product.id})

"""/orgs/{orgId}/products: the catalogue. Members read (agents see products beside orders);
ADMINs write, adjust stock and upload images."""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from inbox.accounts.documents import Role
from inbox.commerce import products as product_service
from inbox.commerce.catalogue_views import ProductImageView, ProductView
from inbox.errors import PayloadTooLarge, ValidationFailed
from web.commerce.catalogue_schemas import (
    ImageUpload,
    ProductCreateBody,
    ProductQuery,
    ProductUpdateBody,
    StockBody,
)
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("products")

CHUNK_BYTES = 64 * 1024
# Multipart framing around the image (boundaries, part headers, small extra fields): a
# request declaring more than the image limit plus this is refused before it is read.
MULTIPART_SLACK = 64 * 1024


@routes.get(
    "/orgs/{orgId}/products",
    "List products",
    description="`category` includes the products of its subcategories unless "
    "`includeSubcategories=false`. `search` matches part of the name, SKU or description in "
    "any case, as literal text. `sortBy` createdAt (default, newest first), name (A-Z "
    "first), price or salesCount; `sortOrder` asc or desc.",
    tags=["products"],
    query=ProductQuery,
    response=ProductView,
    list_response=True,
)
async def list_products(call: Call[None, ProductQuery]) -> Paged:
    q = call.query
    order = q.sort_order or ("asc" if q.sort_by == product_service.SortBy.NAME else "desc")
    return Paged(
        *await product_service.list_products(
            call.org_id,
            product_service.ProductFilters(
                category_id=q.category,
                include_subcategories=q.include_subcategories,
                is_active=q.is_active,
                featured=q.featured,
                search=q.search,
                min_price=q.min_price,
                max_price=q.max_price,
                sort_by=q.sort_by,
                sort_order=product_service.SortOrder(order),
            ),
            call.page.skip,
            call.page.limit,
        )
    )


@routes.post(
    "/orgs/{orgId}/products",
    "Create a product (ADMIN)",
    description="The slug is made from the name (`-2`, `-3`, ... when taken) unless given; "
    "a given slug or a SKU already in use is a 409. `categoryId` must be a category of the "
    "org.",
    tags=["products"],
    body=ProductCreateBody,
    response=ProductView,
    status=201,
    errors=[409],
    role=Role.ADMIN,
)
async def create(call: Call[ProductCreateBody, None]) -> ProductView:
    body = call.body
    return await product_service.create(
        call.deps,
        call.user,
        name=body.name,
        price=body.price,
        slug=body.slug,
        description=body.description,
        sku=body.sku,
        barcode=body.barcode,
        category_id=body.category_id,
        tags=body.tags,
        is_active=body.is_active,
        featured=body.featured,
        stock_quantity=body.stock_quantity,
    )


@routes.get(
    "/orgs/{orgId}/products/slug/{slug}",
    "Get a product by its slug",
    tags=["products"],
    response=ProductView,
)
async def get_by_slug(call: Call[None, None]) -> ProductView:
    return await product_service.get_by_slug(call.org_id, call.path("slug"))


@routes.get(
    "/orgs/{orgId}/products/{productId}", "Get a product", tags=["products"], response=ProductView
)
async def get(call: Call[None, None]) -> ProductView:
    return await product_service.detail(call.org_id, call.path("productId"))


@routes.put(
    "/orgs/{orgId}/products/{productId}",
    "Update a product (ADMIN)",
    description="Only the fields given change; the slug stays when the name changes.",
    tags=["products"],
    body=ProductUpdateBody,
    response=ProductView,
    errors=[409],
    role=Role.ADMIN,
)
async def update(call: Call[ProductUpdateBody, None]) -> ProductView:
    body = call.body
    return await product_service.update(
        call.deps,
        call.user,
        call.path("productId"),
        body.model_dump(include=body.model_fields_set),
    )


@routes.delete(
    "/orgs/{orgId}/products/{productId}",
    "Delete a product and its uploaded images (ADMIN)",
    description="Orders keep their own copy of the name, SKU and price.",
    tags=["products"],
    response=Ok,
    role=Role.ADMIN,
)
async def delete(call: Call[None, None]) -> Ok:
    await product_service.delete(call.deps, call.user, call.path("productId"))
    return Ok(message="Product deleted")


@routes.patch(
    "/orgs/{orgId}/products/{productId}/stock",
    "Adjust a product's stock (ADMIN)",
    description='`{"delta": n}` adds n (negative takes away), `{"set": n}` sets it; atomic '
    "with orders. A delta that would take the stock below zero changes nothing: 409 with "
    "the current `stockQuantity` in `details`.",
    tags=["products"],
    body=StockBody,
    response=ProductView,
    errors=[409],
    role=Role.ADMIN,
)
async def adjust_stock(call: Call[StockBody, None]) -> ProductView:
    return await product_service.adjust_stock(
        call.deps,
        call.user,
        call.path("productId"),
        delta=call.body.delta,
        to=call.body.set_,
    )


async def _read_image(request: web.Request) -> bytes:
    """The `image` field of a multipart/form-data body, read in chunks and never more than
    the limit (plus one chunk) into memory: 413 as soon as it is exceeded."""
    limit = product_service.MAX_IMAGE_BYTES
    too_large = PayloadTooLarge(
        "Image too large",
        code="IMAGE_TOO_LARGE",
        details={"image": f"at most {limit // (1024 * 1024)} MB"},
    )
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise too_large
    not_multipart = ValidationFailed(
        "Send the image as multipart/form-data",
        code="IMAGE_REQUIRED",
        details={"image": "a multipart/form-data file field named `image` is required"},
    )
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "image":
                continue  # other fields are skipped (read past, not kept)
            data = bytearray()
            while chunk := await part.read_chunk(CHUNK_BYTES):
                data += chunk
                if len(data) > limit:
                    raise too_large
            return bytes(data)
    except (ValueError, AssertionError, LookupError) as exc:
        # aiohttp's multipart reader: not multipart, no boundary, or a malformed body.
        raise not_multipart from exc
    raise not_multipart


@routes.post(
    "/orgs/{orgId}/products/{productId}/images",
    "Upload a product image (ADMIN)",
    description="multipart/form-data with a file field `image`: a JPEG, PNG, GIF or WebP of "
    f"at most 4 MB, recognised by its bytes (its name and declared type are ignored). A "
    f"product holds at most {product_service.MAX_IMAGES} images (409 beyond). The image is "
    "served at the returned `url` (`GET /media/{key}`); its `id` deletes it.",
    tags=["products"],
    body=ImageUpload,
    body_content_type="multipart/form-data",
    response=ProductImageView,
    status=201,
    errors=[409, 413],
    role=Role.ADMIN,
)
async def upload_image(call: Call[None, None]) -> ProductImageView:
    # A multipart body: the declaration leaves it unread, so it is read here, in chunks,
    # only after 404 / 409 are ruled out.
    user = call.user
    product_id = call.path("productId")
    await product_service.ensure_room_for_image(user.org_id, product_id)
    data = await _read_image(call.request)
    return await product_service.add_image(call.deps, user, product_id, data)


@routes.delete(
    "/orgs/{orgId}/products/{productId}/images/{imageId}",
    "Delete a product image (ADMIN)",
    description="Removes it from `images` and from storage; its URL answers 404 afterwards.",
    tags=["products"],
    response=ProductView,
    role=Role.ADMIN,
)
async def delete_image(call: Call[None, None]) -> ProductView:
    return await product_service.delete_image(
        call.deps,
        call.user,
        call.path("productId"),
        call.path("imageId"),
    )

"""Request bodies and query strings of /orgs/{orgId}/products and /categories (camelCase)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from inbox.commerce.categories import MAX_DEPTH
from inbox.commerce.products import SortBy
from inbox.commerce.slugs import SLUG_PATTERN
from web.schemas import Body, _Query

MAX_PRICE = 1_000_000_000.0
MAX_STOCK = 1_000_000_000

Name = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=SLUG_PATTERN,
        description="Lower-case letters, digits and single hyphens; made from the name when "
        "not given",
    ),
]
Description = Annotated[str, Field(max_length=10_000)]
Reference = Annotated[str, Field(min_length=1, max_length=100)]
Price = Annotated[
    float, Field(ge=0, le=MAX_PRICE, allow_inf_nan=False, description="Rounded to cents")
]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK)]
Tag = Annotated[str, Field(min_length=1, max_length=100)]
Tags = Annotated[list[Tag], Field(max_length=50)]
SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
Delta = Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK)]
ImageUrl = Annotated[str, Field(min_length=1, max_length=2_000)]


def _error(model: str, field: str, kind: str, message: str, value: Any) -> ValidationError:
    return ValidationError.from_exception_data(
        model,
        [InitErrorDetails(type=PydanticCustomError(kind, message), loc=(field,), input=value)],
    )


def _refuse_nulls(body: BaseModel, fields: tuple[str, ...]) -> None:
    """A partial update may leave these fields out, but not set them to null."""
    for name in fields:
        if name in body.model_fields_set and getattr(body, name) is None:
            alias = type(body).model_fields[name].alias or name
            raise _error(type(body).__name__, alias, "not_null", "must not be null", None)


# ----------------------------------------------------------------------------- categories


class CategoryCreateBody(Body):
    name: Name
    slug: Slug | None = None
    description: Description | None = None
    image: ImageUrl | None = Field(default=None, description="An image URL")
    parent_id: Reference | None = Field(
        default=None,
        description=f"A category of the org; the tree is at most {MAX_DEPTH} levels deep",
    )
    is_active: bool = True
    sort_order: SortOrder = 0


class CategoryUpdateBody(Body):
    """Fields not given stay as they are; `null` clears description, image and parentId
    (making the category top-level)."""

    name: Name | SkipJsonSchema[None] = None
    slug: Slug | SkipJsonSchema[None] = None
    description: Description | None = None
    image: ImageUrl | None = None
    parent_id: Reference | None = Field(
        default=None, description="Not the category itself or one of its descendants"
    )
    is_active: bool | SkipJsonSchema[None] = None
    sort_order: SortOrder | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _nulls(self) -> CategoryUpdateBody:
        _refuse_nulls(self, ("name", "slug", "is_active", "sort_order"))
        return self


class CategoryQuery(_Query):
    parent_id: str | None = Field(
        default=None, max_length=100, description="A category id, or `root` for top-level ones"
    )
    is_active: bool | None = None
    search: str | None = Field(default=None, max_length=200, description="Part of the name")


class CategoryTreeQuery(_Query):
    active_only: bool = Field(
        default=False, description="Leave out inactive categories and everything below them"
    )


# ------------------------------------------------------------------------------- products


class ProductCreateBody(Body):
    name: Name
    price: Price
    slug: Slug | None = None
    description: Description | None = None
    sku: Reference | None = Field(default=None, description="Unique in the org, any case")
    barcode: Reference | None = None
    category_id: Reference | None = Field(default=None, description="A category of the org")
    tags: Tags = Field(default_factory=list)
    is_active: bool = True
    featured: bool = False
    stock_quantity: Stock = 0


class ProductUpdateBody(Body):
    """Fields not given stay as they are; `null` clears description, sku, barcode and
    categoryId. `stockQuantity` sets the stock outright; `salesCount` is kept by orders and
    `images` by the image endpoints."""

    name: Name | SkipJsonSchema[None] = None
    price: Price | SkipJsonSchema[None] = None
    slug: Slug | SkipJsonSchema[None] = None
    description: Description | None = None
    sku: Reference | None = None
    barcode: Reference | None = None
    category_id: Reference | None = None
    tags: Tags | SkipJsonSchema[None] = None
    is_active: bool | SkipJsonSchema[None] = None
    featured: bool | SkipJsonSchema[None] = None
    stock_quantity: Stock | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _nulls(self) -> ProductUpdateBody:
        _refuse_nulls(
            self, ("name", "price", "slug", "tags", "is_active", "featured", "stock_quantity")
        )
        return self


class StockBody(Body):
    """Exactly one of `delta` (added; negative takes away) and `set`."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    delta: Delta | SkipJsonSchema[None] = None
    set_: Stock | SkipJsonSchema[None] = Field(default=None, alias="set")

    @model_validator(mode="after")
    def _one_of(self) -> StockBody:
        if (self.delta is None) == (self.set_ is None):
            raise _error(
                "StockBody", "delta", "one_of", "give exactly one of `delta` and `set`", None
            )
        return self


class ProductQuery(_Query):
    category: str | None = Field(default=None, max_length=100, description="A category id")
    include_subcategories: bool = Field(
        default=True, description="With `category`: its subcategories' products too"
    )
    is_active: bool | None = None
    featured: bool | None = None
    search: str | None = Field(
        default=None,
        max_length=200,
        description="Part of the name, SKU or description, any case, as literal text",
    )
    min_price: float | None = Field(default=None, ge=0, le=MAX_PRICE, allow_inf_nan=False)
    max_price: float | None = Field(default=None, ge=0, le=MAX_PRICE, allow_inf_nan=False)
    sort_by: SortBy = Field(default=SortBy.CREATED_AT, description="Default: newest first")
    sort_order: Literal["asc", "desc"] | None = Field(
        default=None, description="Default desc (asc when sorting by name)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ProductQuery:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise _error(
                "ProductQuery",
                "minPrice",
                "range_order",
                "must not be more than `maxPrice`",
                self.min_price,
            )
        return self


class ImageUpload(BaseModel):
    """multipart/form-data with one file field `image`."""

    model_config = ConfigDict(title="ImageUpload")

    image: bytes = Field(
        description="A JPEG, PNG, GIF or WebP image of at most 4 MB, recognised by its bytes "
        "(the file name and declared type are ignored)",
        json_schema_extra={"format": "binary"},
    )

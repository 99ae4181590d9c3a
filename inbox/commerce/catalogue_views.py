"""What the API shows of the catalogue: categories (flat and as a tree) and products."""

from __future__ import annotations

from datetime import datetime

from inbox.commerce.documents import Category, Product
from inbox.view_base import View

__all__ = [
    "CategoryView",
    "CategoryRef",
    "CategoryTreeNode",
    "ProductView",
    "ProductImageView",
    "category_view",
    "product_view",
]


class CategoryView(View):
    id: str
    name: str
    slug: str
    description: str | None
    image: str | None
    parent_id: str | None
    is_active: bool
    sort_order: int
    created_at: datetime
    updated_at: datetime


class CategoryTreeNode(CategoryView):
    children: list[CategoryTreeNode]


class CategoryRef(View):
    id: str
    name: str
    slug: str


class ProductView(View):
    id: str
    name: str
    slug: str
    description: str | None
    sku: str | None
    barcode: str | None
    price: float
    category_id: str | None
    category: CategoryRef | None
    images: list[str]
    tags: list[str]
    is_active: bool
    featured: bool
    stock_quantity: int
    sales_count: int
    created_at: datetime
    updated_at: datetime


class ProductImageView(View):
    """An uploaded image: `id` is what DELETE .../images/{imageId} takes."""

    id: str
    url: str
    content_type: str
    size: int
    product: ProductView


def category_view(category: Category) -> CategoryView:
    return CategoryView.model_validate(category, from_attributes=True)


def product_view(product: Product, category: Category | None) -> ProductView:
    return ProductView(
        id=product.id,
        name=product.name,
        slug=product.slug,
        description=product.description,
        sku=product.sku,
        barcode=product.barcode,
        price=product.price,
        category_id=product.category_id,
        category=(
            CategoryRef(id=category.id, name=category.name, slug=category.slug)
            if category is not None
            else None
        ),
        images=product.images,
        tags=product.tags,
        is_active=product.is_active,
        featured=product.featured,
        stock_quantity=product.stock_quantity,
        sales_count=product.sales_count,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )

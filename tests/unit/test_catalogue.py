"""Catalogue rules that need no server: slugs, image sniffing, the local media storage, the
category tree's ancestry checks, and the request models' cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from inbox.commerce.categories import MAX_DEPTH, check_parent, depth_of, descendants
from inbox.commerce.products import check_image, media_key_of, media_url
from inbox.commerce.slugs import first_free, slugify
from inbox.errors import NotFound, ValidationFailed
from inbox.storage import LocalDiskStorage, is_valid_key, new_key, sniff_image
from tests.images import GIF, JPEG, PNG, WEBP
from web.commerce.catalogue_schemas import ProductQuery, ProductUpdateBody, StockBody


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Blue Shirt", "blue-shirt"),
        ("  Café Crème -- 50 ml!  ", "cafe-creme-50-ml"),
        ("Crème_Brûlée/2", "creme-brulee-2"),
        ("日本語", "product"),
        ("---", "product"),
    ],
)
def test_a_slug_is_lower_case_ascii_words_joined_by_hyphens(name: str, slug: str) -> None:
    assert slugify(name, "product") == slug


def test_a_long_name_is_cut_at_a_word_boundary() -> None:
    slug = slugify("word " * 40, "product")
    assert len(slug) <= 80 and not slug.endswith("-") and slug.endswith("word")


def test_a_clash_takes_the_first_free_numeric_suffix() -> None:
    assert first_free("shirt", set()) == "shirt"
    assert first_free("shirt", {"shirt"}) == "shirt-2"
    assert first_free("shirt", {"shirt", "shirt-2", "shirt-3"}) == "shirt-4"
    assert first_free("shirt", {"shirt", "shirt-3"}) == "shirt-2"


@pytest.mark.parametrize(
    ("data", "kind"), [(JPEG, "jpg"), (PNG, "png"), (GIF, "gif"), (WEBP, "webp")]
)
def test_each_image_kind_is_recognised_by_its_bytes(data: bytes, kind: str) -> None:
    assert sniff_image(data) == kind
    assert check_image(data) == kind


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text, renamed to photo.png",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # a RIFF file that is not WebP
        b"\x89PNG\r\n",  # a cut-off signature
    ],
)
def test_anything_else_is_not_an_image(data: bytes) -> None:
    assert sniff_image(data) is None
    with pytest.raises(ValidationFailed) as caught:
        check_image(data)
    assert caught.value.details == {"image": "must be a JPEG, PNG, GIF or WebP image"}


def test_an_image_over_four_megabytes_is_too_large() -> None:
    with pytest.raises(Exception) as caught:
        check_image(PNG + b"\x00" * (4 * 1024 * 1024))
    assert getattr(caught.value, "status", None) == 413


def test_keys_are_random_hex_with_the_kind_as_extension() -> None:
    keys = {new_key("png") for _ in range(100)}
    assert len(keys) == 100
    assert all(is_valid_key(k) and k.endswith(".png") for k in keys)
    with pytest.raises(ValueError):
        new_key("svg")


@pytest.mark.parametrize(
    "key",
    [
        "../secret.png",
        "..%2f..%2fetc%2fpasswd",
        "/etc/passwd",
        "ab/" + "0" * 32 + ".png",
        "0" * 32 + ".svg",
        "0" * 31 + ".png",
        "0" * 32 + ".PNG",
        "0" * 32 + ".png/..",
        "",
    ],
)
async def test_storage_refuses_any_key_it_did_not_make(tmp_path: Path, key: str) -> None:
    storage = LocalDiskStorage(tmp_path / "media")
    (tmp_path / "secret.png").write_bytes(PNG)
    with pytest.raises(NotFound):
        await storage.open(key)
    with pytest.raises(NotFound):
        await storage.delete(key)


async def test_storage_keeps_bytes_until_deleted(tmp_path: Path) -> None:
    storage = LocalDiskStorage(tmp_path)
    key = new_key("gif")
    await storage.save(key, GIF)
    stored = await storage.open(key)
    try:
        assert stored.size == len(GIF) and stored.content_type == "image/gif"
        assert b"".join([c async for c in stored.chunks()]) == GIF
    finally:
        await stored.aclose()
    # Fanned out by the key's first two digits; no temporary file left behind.
    assert [p.name for p in (tmp_path / key[:2]).iterdir()] == [key]
    await storage.delete(key)
    await storage.delete(key)  # already gone: no error
    with pytest.raises(NotFound):
        await storage.open(key)


def test_only_our_media_urls_have_a_storage_key() -> None:
    key = new_key("jpg")
    assert media_key_of(media_url("https://shop.example/", key)) == key
    assert media_url("https://shop.example/", key) == f"https://shop.example/media/{key}"
    assert media_key_of("https://cdn.example/images/photo.jpg") is None
    assert media_key_of(f"https://cdn.example/media/{key}/../x") is None


# A tree:  a ─ b ─ c      d
PARENTS: dict[str, str | None] = {"a": None, "b": "a", "c": "b", "d": None}


def test_descendants_include_the_category_and_everything_below() -> None:
    assert descendants(PARENTS, "a") == {"a", "b", "c"}
    assert descendants(PARENTS, "c") == {"c"}
    # A stored cycle (only a race could make one) ends the walk instead of looping.
    assert descendants({"x": "y", "y": "x"}, "x") == {"x", "y"}


@pytest.mark.parametrize(
    ("category", "parent", "why"),
    [
        ("a", "a", "is this category itself"),
        ("a", "c", "is a descendant of this category"),
        ("b", "c", "is a descendant of this category"),
        (None, "zz", "no such category in this organisation"),
    ],
)
def test_a_category_cannot_be_its_own_ancestor_or_under_a_stranger(
    category: str | None, parent: str, why: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_parent(PARENTS, category, parent)
    assert caught.value.details == {"parentId": why}


def test_moving_a_category_elsewhere_in_the_tree_is_allowed() -> None:
    check_parent(PARENTS, "c", "d")
    check_parent(PARENTS, "d", "c")
    check_parent(PARENTS, None, "c")
    check_parent(PARENTS, "b", None)


def test_the_tree_may_not_grow_deeper_than_its_limit() -> None:
    chain: dict[str, str | None] = {"0": None}
    for i in range(1, MAX_DEPTH):
        chain[str(i)] = str(i - 1)
    assert depth_of(chain, str(MAX_DEPTH - 1)) == MAX_DEPTH
    with pytest.raises(ValidationFailed) as caught:
        check_parent(chain, None, str(MAX_DEPTH - 1))
    assert "levels deep" in caught.value.details["parentId"]
    # A two-level subtree moved under level MAX_DEPTH - 1 would reach MAX_DEPTH + 1.
    chain["x"], chain["y"] = None, "x"
    with pytest.raises(ValidationFailed):
        check_parent(chain, "x", str(MAX_DEPTH - 2))
    check_parent(chain, "x", str(MAX_DEPTH - 3))


def test_a_stock_change_is_exactly_one_of_delta_and_set() -> None:
    assert StockBody.model_validate({"delta": -3}).delta == -3
    assert StockBody.model_validate({"set": 7}).set_ == 7
    for bad in ({}, {"delta": 1, "set": 2}, {"set": -1}):
        with pytest.raises(ValidationError):
            StockBody.model_validate(bad)


def test_a_price_range_must_be_in_order() -> None:
    assert ProductQuery.model_validate({"minPrice": "5", "maxPrice": "5"}).min_price == 5
    with pytest.raises(ValidationError) as caught:
        ProductQuery.model_validate({"minPrice": "10", "maxPrice": "5"})
    assert caught.value.errors()[0]["loc"] == ("minPrice",)


def test_an_update_may_leave_out_but_not_null_a_required_field() -> None:
    assert ProductUpdateBody.model_validate({"description": None}).model_fields_set == {
        "description"
    }
    with pytest.raises(ValidationError) as caught:
        ProductUpdateBody.model_validate({"price": None})
    assert caught.value.errors()[0]["loc"] == ("price",)


def test_only_the_slug_index_counts_as_a_slug_clash() -> None:
    from pymongo.errors import DuplicateKeyError

    from inbox.commerce.slugs import is_slug_clash

    def refused(pattern: dict | None, index: str, value: str) -> DuplicateKeyError:
        details: dict = {"code": 11000, "errmsg": f"E11000 index: {index} dup key: {value}"}
        if pattern is not None:
            details["keyPattern"] = pattern
        return DuplicateKeyError(details["errmsg"], 11000, details)

    assert is_slug_clash(refused({"orgId": 1, "slug": 1}, "orgId_1_slug_1", "{slug: 'a'}"))
    # A SKU that happens to contain "slug" is still a SKU clash.
    sku = refused({"orgId": 1, "skuKey": 1}, "orgId_1_skuKey_1", "{skuKey: 'sku:slug-1'}")
    assert not is_slug_clash(sku)
    assert is_slug_clash(refused(None, "orgId_1_slug_1", "{slug: 'a'}"))
    assert not is_slug_clash(refused(None, "orgId_1_skuKey_1", "{skuKey: 'sku:slug-1'}"))

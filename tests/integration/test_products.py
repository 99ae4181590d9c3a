"""Products: CRUD, slugs and SKUs, list filters/sort/paging, stock, images and media serving,
events, roles and orgs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from tests.images import GIF, JPEG, PNG, WEBP
from tests.integration.conftest import Api, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_categories import make_category

MB = 1024 * 1024


async def make_product(api: Api, name: str, price: float = 10.0, **fields: Any) -> dict:
    status, body, _ = await api.post(
        f"/orgs/{api.org_id}/products", {"name": name, "price": price, **fields}
    )
    assert status == 201, body
    return body


async def upload(
    api: Api,
    product_id: str,
    data: bytes,
    filename: str = "photo.png",
    content_type: str = "image/png",
) -> tuple[int, Any, Any]:
    form = aiohttp.FormData()
    form.add_field("image", data, filename=filename, content_type=content_type)
    return await api.call("POST", f"/orgs/{api.org_id}/products/{product_id}/images", data=form)


async def fetch_media(api: Api, url_or_key: str) -> tuple[int, bytes, Any]:
    key = url_or_key.rsplit("/media/", 1)[-1]
    async with api.http.get(f"{api.base}/media/{key}") as resp:
        return resp.status, await resp.read(), resp.headers


async def test_a_product_is_created_read_updated_and_deleted(admin: Api) -> None:
    base = f"/orgs/{admin.org_id}/products"
    category = await make_category(admin, "Tea")
    created = await make_product(
        admin,
        "Green Tea 100 g",
        price=4.999,
        sku="TEA-GRN-100",
        description="Sencha leaves",
        categoryId=category["id"],
        tags=["tea", "green"],
        stockQuantity=12,
    )
    assert created["slug"] == "green-tea-100-g"
    assert created["price"] == 5.0  # rounded to cents
    assert created["category"] == {
        "id": category["id"],
        "name": "Tea",
        "slug": category["slug"],
    }
    assert created["stockQuantity"] == 12 and created["salesCount"] == 0
    assert created["images"] == [] and created["isActive"] is True

    status, got, _ = await admin.get(f"{base}/{created['id']}")
    assert status == 200 and got == created
    status, by_slug, _ = await admin.get(f"{base}/slug/green-tea-100-g")
    assert status == 200 and by_slug["id"] == created["id"]

    status, updated, _ = await admin.put(
        f"{base}/{created['id']}",
        {"name": "Green Tea 250 g", "price": 9.5, "categoryId": None, "description": None},
    )
    assert status == 200, updated
    assert updated["name"] == "Green Tea 250 g" and updated["slug"] == "green-tea-100-g"
    assert updated["price"] == 9.5 and updated["categoryId"] is None
    assert updated["category"] is None and updated["description"] is None
    assert updated["sku"] == "TEA-GRN-100" and updated["stockQuantity"] == 12

    status, body, _ = await admin.delete(f"{base}/{created['id']}")
    assert status == 200 and body["success"] is True
    assert (await admin.get(f"{base}/{created['id']}"))[0] == 404

    status, logs, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs?entity=product")
    assert {e["action"] for e in logs} == {"product.create", "product.update", "product.delete"}


async def test_writes_publish_product_events(admin: Api, http) -> None:
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
        product = await make_product(admin, "Evented")
        await admin.put(f"/orgs/{admin.org_id}/products/{product['id']}", {"price": 3})
        await admin.delete(f"/orgs/{admin.org_id}/products/{product['id']}")
        seen: list[dict] = []
        async with asyncio.timeout(20):
            while len(seen) < 3:
                event = json.loads((await ws.receive()).data)
                if event["event"].startswith("product."):
                    seen.append(event)
    assert [e["event"] for e in seen] == ["product.created", "product.updated", "product.deleted"]
    assert seen[0]["data"]["name"] == "Evented"
    assert seen[1]["data"]["price"] == 3
    assert seen[2]["data"] == {"id": product["id"]}


async def test_slugs_clash_into_suffixes_and_skus_are_unique_in_any_case(
    admin: Api, web_url: str, http
) -> None:
    base = f"/orgs/{admin.org_id}/products"
    slugs = [(await make_product(admin, name))["slug"] for name in ("Mug", "mug", "MUG!")]
    assert slugs == ["mug", "mug-2", "mug-3"]
    first = await make_product(admin, "Cup", sku="CUP-1")
    status, body, _ = await admin.post(base, {"name": "Other cup", "price": 1, "sku": "cup-1"})
    assert status == 409 and body["code"] == "SKU_TAKEN" and "sku" in body["details"]
    status, body, _ = await admin.post(base, {"name": "Mine", "price": 1, "slug": "mug-2"})
    assert status == 409 and body["code"] == "SLUG_TAKEN"
    second = await make_product(admin, "Saucer", sku="SAU-1")
    status, body, _ = await admin.put(f"{base}/{second['id']}", {"sku": "Cup-1"})
    assert status == 409 and body["code"] == "SKU_TAKEN"
    # Clearing a SKU frees it; products without one never clash with each other.
    status, _, _ = await admin.put(f"{base}/{first['id']}", {"sku": None})
    assert status == 200
    status, body, _ = await admin.put(f"{base}/{second['id']}", {"sku": "CUP-1"})
    assert status == 200 and body["sku"] == "CUP-1"
    # Another org keeps its own slugs and SKUs.
    other = await signup(web_url, http, org="Other shop")
    assert (await make_product(other, "Mug", sku="CUP-1"))["slug"] == "mug"


async def test_concurrent_creates_with_one_name_get_distinct_slugs(admin: Api) -> None:
    made = await asyncio.gather(*(make_product(admin, "Popular Name") for _ in range(5)))
    assert sorted(p["slug"] for p in made) == [
        "popular-name",
        "popular-name-2",
        "popular-name-3",
        "popular-name-4",
        "popular-name-5",
    ]


async def test_the_list_filters_searches_sorts_and_pages(admin: Api) -> None:
    base = f"/orgs/{admin.org_id}/products"
    drinks = await make_category(admin, "Drinks")
    juice = await make_category(admin, "Juice", parentId=drinks["id"])
    snacks = await make_category(admin, "Snacks")
    await make_product(admin, "Cola", 1.5, categoryId=drinks["id"], sku="DR-COLA")
    await make_product(admin, "Orange Juice", 3.0, categoryId=juice["id"], featured=True)
    await make_product(admin, "Apple Juice", 2.5, categoryId=juice["id"], isActive=False)
    await make_product(
        admin, "Crisps", 2.0, categoryId=snacks["id"], description="salt & vinegar (x2)"
    )
    await make_product(admin, "Peanuts", 4.0)

    async def names(query: str) -> tuple[list[str], str]:
        status, body, headers = await admin.get(f"{base}?{query}")
        assert status == 200, body
        return [p["name"] for p in body], headers["X-Total-Count"]

    # Newest first by default.
    assert await names("") == (["Peanuts", "Crisps", "Apple Juice", "Orange Juice", "Cola"], "5")
    # A category includes its subcategories, unless asked not to.
    assert (await names(f"category={drinks['id']}&sortBy=name"))[0] == [
        "Apple Juice",
        "Cola",
        "Orange Juice",
    ]
    assert (await names(f"category={drinks['id']}&includeSubcategories=false"))[0] == ["Cola"]
    assert (await names(f"category={juice['id']}&isActive=true"))[0] == ["Orange Juice"]
    assert (await names("featured=true"))[0] == ["Orange Juice"]
    # Search: name, SKU or description, any case, literal (regex characters are text).
    assert (await names("search=JUICE&sortBy=name"))[0] == ["Apple Juice", "Orange Juice"]
    assert (await names("search=dr-cola"))[0] == ["Cola"]
    assert (await names("search=(x2)"))[0] == ["Crisps"]
    assert (await names("search=.*"))[0] == []
    # Price range, inclusive.
    assert (await names("minPrice=2&maxPrice=3&sortBy=price&sortOrder=asc"))[0] == [
        "Crisps",
        "Apple Juice",
        "Orange Juice",
    ]
    assert (await names("sortBy=price"))[0][0] == "Peanuts"
    # Paging: X-Total-Count over all pages, Link to the next.
    status, page2, headers = await admin.get(f"{base}?sortBy=name&limit=2&page=2")
    assert [p["name"] for p in page2] == ["Crisps", "Orange Juice"]
    assert headers["X-Total-Count"] == "5" and 'rel="next"' in headers["Link"]


async def test_sorting_by_sales_count_follows_what_orders_sold(admin: Api, db) -> None:
    from inbox.commerce.documents import Product

    slow = await make_product(admin, "Slow seller")
    fast = await make_product(admin, "Fast seller")
    # Orders keep salesCount with $inc; stand in for them here.
    await Product.get_pymongo_collection().update_one(
        {"_id": fast["id"]}, {"$inc": {"salesCount": 7}}
    )
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/products?sortBy=salesCount")
    assert [p["id"] for p in body] == [fast["id"], slow["id"]]
    assert body[0]["salesCount"] == 7
    # An update never writes salesCount back (it would undo concurrent orders).
    await admin.put(f"/orgs/{admin.org_id}/products/{fast['id']}", {"name": "Renamed"})
    assert (await admin.get(f"/orgs/{admin.org_id}/products/{fast['id']}"))[1]["salesCount"] == 7


async def test_stock_is_adjusted_atomically_and_never_goes_below_zero(admin: Api) -> None:
    product = await make_product(admin, "Limited", stockQuantity=10)
    stock = f"/orgs/{admin.org_id}/products/{product['id']}/stock"
    status, body, _ = await admin.patch(stock, {"delta": 5})
    assert status == 200 and body["stockQuantity"] == 15
    status, body, _ = await admin.patch(stock, {"set": 4})
    assert status == 200 and body["stockQuantity"] == 4
    status, body, _ = await admin.patch(stock, {"delta": -5})
    assert status == 409 and body["code"] == "INSUFFICIENT_STOCK"
    assert body["details"]["stockQuantity"] == 4

    # Twenty concurrent takes of one from a stock of 4: exactly four succeed.
    results = await asyncio.gather(*(admin.patch(stock, {"delta": -1}) for _ in range(20)))
    assert sorted(r[0] for r in results) == [200] * 4 + [409] * 16
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/products/{product['id']}")
    assert body["stockQuantity"] == 0

    for bad in ({}, {"delta": 1, "set": 1}, {"set": -1}, {"delta": "lots"}):
        status, body, _ = await admin.patch(stock, bad)
        assert status == 400 and body["details"], bad


async def test_bad_input_is_a_400_naming_each_field(admin: Api, web_url: str, http) -> None:
    base = f"/orgs/{admin.org_id}/products"
    status, body, _ = await admin.post(
        base, {"name": "", "price": -1, "stockQuantity": -2, "tags": [""], "colour": "red"}
    )
    assert status == 400 and body["code"] == "VALIDATION_ERROR"
    assert {"name", "price", "stockQuantity", "tags.0", "colour"} <= set(body["details"])
    status, body, _ = await admin.post(base, {"name": "No price"})
    assert status == 400 and set(body["details"]) == {"price"}

    other = await signup(web_url, http, org="Other")
    theirs = await make_category(other, "Theirs")
    for category_id in (theirs["id"], "missing"):
        status, body, _ = await admin.post(
            base, {"name": "X", "price": 1, "categoryId": category_id}
        )
        assert status == 400 and body["code"] == "CATEGORY_NOT_FOUND"
        assert body["details"] == {"categoryId": "no such category in this organisation"}

    product = await make_product(admin, "Valid")
    for bad, field in (
        ({"price": None}, "price"),
        ({"salesCount": 100}, "salesCount"),
        ({"images": []}, "images"),
        ({"categoryId": theirs["id"]}, "categoryId"),
    ):
        status, body, _ = await admin.put(f"{base}/{product['id']}", bad)
        assert status == 400 and field in body["details"], (bad, body)

    for query in ("minPrice=5&maxPrice=1", "sortBy=colour", "minPrice=cheap", "limit=1000"):
        status, body, _ = await admin.get(f"{base}?{query}")
        assert status == 400 and body["details"], query


async def test_agents_read_products_but_only_admins_write(admin: Api, web_url: str, http) -> None:
    base = f"/orgs/{admin.org_id}/products"
    product = await make_product(admin, "Visible", stockQuantity=3)
    agent = await invite_agent(admin, web_url, http)
    assert (await agent.get(base))[0] == 200
    assert (await agent.get(f"{base}/{product['id']}"))[0] == 200
    assert (await agent.get(f"{base}/slug/visible"))[0] == 200
    for status, body, _ in (
        await agent.post(base, {"name": "Nope", "price": 1}),
        await agent.put(f"{base}/{product['id']}", {"price": 0}),
        await agent.patch(f"{base}/{product['id']}/stock", {"delta": -3}),
        await upload(agent, product["id"], PNG),
        await agent.delete(f"{base}/{product['id']}/images/{'0' * 32}.png"),
        await agent.delete(f"{base}/{product['id']}"),
    ):
        assert status == 403 and body["code"] == "FORBIDDEN"
    status, body, _ = await admin.get(f"{base}/{product['id']}")
    assert body["price"] == 10.0 and body["stockQuantity"] == 3
    assert (await Api(web_url, http).get(base))[0] == 401


async def test_another_orgs_products_are_404(admin: Api, web_url: str, http) -> None:
    other = await signup(web_url, http, org="Stranger")
    theirs = await make_product(other, "Secret", stockQuantity=5)
    base = f"/orgs/{admin.org_id}/products"
    for status, body, _ in (
        await admin.get(f"{base}/{theirs['id']}"),
        await admin.get(f"{base}/slug/secret"),
        await admin.put(f"{base}/{theirs['id']}", {"price": 0}),
        await admin.patch(f"{base}/{theirs['id']}/stock", {"delta": -1}),
        await admin.patch(f"{base}/{theirs['id']}/stock", {"set": 0}),
        await upload(admin, theirs["id"], PNG),
        await admin.delete(f"{base}/{theirs['id']}"),
        await admin.get(f"/orgs/{other.org_id}/products"),
    ):
        assert status == 404 and body["code"] == "NOT_FOUND"
    status, body, _ = await other.get(f"/orgs/{other.org_id}/products/{theirs['id']}")
    assert body["stockQuantity"] == 5 and body["images"] == []


async def test_each_image_format_is_stored_and_served_back(admin: Api) -> None:
    product = await make_product(admin, "Pictured")
    for data, content_type in (
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
    ):
        # The declared name and type are ignored: the bytes decide.
        status, body, _ = await upload(
            admin, product["id"], data, "upload.bin", "application/octet-stream"
        )
        assert status == 201, body
        assert body["contentType"] == content_type and body["size"] == len(data)
        assert body["url"] == f"http://testserver/media/{body['id']}"
        assert body["product"]["images"][-1] == body["url"]
        status, served, headers = await fetch_media(admin, body["url"])
        assert status == 200 and served == data
        assert headers["Content-Type"] == content_type
        assert "immutable" in headers["Cache-Control"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "X-RateLimit-Limit" not in headers  # public media is not rate limited
    status, got, _ = await admin.get(f"/orgs/{admin.org_id}/products/{product['id']}")
    assert len(got["images"]) == 4
    # Public: no token needed (storefronts and messages link to it).
    assert "Authorization" not in (await fetch_media(admin, got["images"][0]))[2]


async def test_a_fake_image_is_refused(admin: Api) -> None:
    product = await make_product(admin, "Guarded")
    status, body, _ = await upload(
        admin, product["id"], b"I am text pretending to be a picture", "photo.png", "image/png"
    )
    assert status == 400 and body["code"] == "UNSUPPORTED_IMAGE"
    assert body["details"] == {"image": "must be a JPEG, PNG, GIF or WebP image"}
    # No file field at all, or not multipart.
    form = aiohttp.FormData()
    form.add_field("picture", PNG, filename="x.png")
    path = f"/orgs/{admin.org_id}/products/{product['id']}/images"
    status, body, _ = await admin.call("POST", path, data=form)
    assert status == 400 and "image" in body["details"]
    status, body, _ = await admin.post(path, {"image": "aGVsbG8="})
    assert status == 400 and "image" in body["details"]
    assert (await admin.get(f"/orgs/{admin.org_id}/products/{product['id']}"))[1]["images"] == []


async def test_an_image_over_four_megabytes_is_refused_with_413(admin: Api) -> None:
    product = await make_product(admin, "Heavy")
    path = f"/orgs/{admin.org_id}/products/{product['id']}/images"
    # Just over the limit (the declared length passes; the streamed read stops it).
    status, body, _ = await upload(admin, product["id"], PNG + b"\x00" * (4 * MB - len(PNG) + 1))
    assert status == 413 and body["code"] == "IMAGE_TOO_LARGE"
    # Exactly the limit is fine.
    status, body, _ = await upload(admin, product["id"], PNG + b"\x00" * (4 * MB - len(PNG)))
    assert status == 201, body

    # A huge body sent chunked (no length declared) is refused without being read whole.
    boundary = "catalogue-test-boundary"

    async def body_chunks() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        yield PNG
        for _ in range(40):  # 40 MB
            yield b"\x00" * MB
        yield f"\r\n--{boundary}--\r\n".encode()

    status, body, _ = await admin.call(
        "POST",
        path,
        data=body_chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 413 and body["code"] == "IMAGE_TOO_LARGE"
    # A huge declared length is refused before reading.
    status, body, _ = await admin.call(
        "POST",
        path,
        data=b"x" * (5 * MB),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 413
    status, got, _ = await admin.get(f"/orgs/{admin.org_id}/products/{product['id']}")
    assert len(got["images"]) == 1


async def test_a_product_holds_at_most_ten_images(admin: Api) -> None:
    product = await make_product(admin, "Gallery")
    results = await asyncio.gather(*(upload(admin, product["id"], GIF) for _ in range(12)))
    assert sorted(r[0] for r in results) == [201] * 10 + [409] * 2
    refused = next(r[1] for r in results if r[0] == 409)
    assert refused["code"] == "TOO_MANY_IMAGES"
    status, got, _ = await admin.get(f"/orgs/{admin.org_id}/products/{product['id']}")
    assert len(got["images"]) == 10


async def test_deleting_an_image_removes_it_from_the_product_and_the_storage(
    admin: Api,
) -> None:
    product = await make_product(admin, "Two pictures")
    _, first, _ = await upload(admin, product["id"], PNG)
    _, second, _ = await upload(admin, product["id"], JPEG)
    images = f"/orgs/{admin.org_id}/products/{product['id']}/images"
    status, body, _ = await admin.delete(f"{images}/{first['id']}")
    assert status == 200 and body["images"] == [second["url"]]
    assert (await fetch_media(admin, first["url"]))[0] == 404
    assert (await admin.delete(f"{images}/{first['id']}"))[0] == 404
    assert (await admin.delete(f"{images}/not-an-image"))[0] == 404

    # Deleting the product deletes its stored images too.
    await admin.delete(f"/orgs/{admin.org_id}/products/{product['id']}")
    assert (await fetch_media(admin, second["url"]))[0] == 404


async def test_another_orgs_image_cannot_be_deleted_through_our_product(
    admin: Api, web_url: str, http
) -> None:
    other = await signup(web_url, http, org="Photo owner")
    theirs = await make_product(other, "Theirs")
    _, uploaded, _ = await upload(other, theirs["id"], PNG)
    mine = await make_product(admin, "Mine")
    status, _, _ = await admin.delete(
        f"/orgs/{admin.org_id}/products/{mine['id']}/images/{uploaded['id']}"
    )
    assert status == 404
    assert (await fetch_media(other, uploaded["url"]))[1] == PNG


async def test_media_paths_outside_the_store_are_404(admin: Api) -> None:
    product = await make_product(admin, "Traversal target")
    _, uploaded, _ = await upload(admin, product["id"], PNG)
    key = uploaded["id"]
    for path in (
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        f"{key[:2]}/{key}",
        f"{key[:2]}%2F{key}",
        f"..%2F{key[:2]}%2F{key}",
        key.upper(),
        key.replace(".png", ".svg"),
        "0" * 32 + ".png",
        "%00",
    ):
        async with admin.http.get(f"{admin.base}/media/{path}") as resp:
            assert resp.status == 404, path
            assert (await resp.read()) != PNG
    assert (await fetch_media(admin, key))[0] == 200

"""Categories: CRUD, slugs, the nested tree, ancestry rules, deletion rules, roles and orgs."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api, signup
from tests.integration.test_auth import invite_agent


async def make_category(api: Api, name: str, **fields: Any) -> dict:
    status, body, _ = await api.post(f"/orgs/{api.org_id}/categories", {"name": name, **fields})
    assert status == 201, body
    return body


async def test_a_category_is_created_read_updated_and_deleted(admin: Api) -> None:
    base = f"/orgs/{admin.org_id}/categories"
    created = await make_category(admin, "Home & Garden", description="For the house", sortOrder=3)
    assert created["slug"] == "home-garden"
    assert created["parentId"] is None and created["isActive"] is True
    assert created["sortOrder"] == 3 and created["description"] == "For the house"

    status, got, _ = await admin.get(f"{base}/{created['id']}")
    assert status == 200 and got == created
    status, by_slug, _ = await admin.get(f"{base}/slug/home-garden")
    assert status == 200 and by_slug["id"] == created["id"]

    status, updated, _ = await admin.put(
        f"{base}/{created['id']}", {"name": "House", "description": None, "isActive": False}
    )
    assert status == 200, updated
    # The slug stays when the name changes, so links to it keep working.
    assert updated["name"] == "House" and updated["slug"] == "home-garden"
    assert updated["description"] is None and updated["isActive"] is False

    status, body, _ = await admin.delete(f"{base}/{created['id']}")
    assert status == 200 and body["success"] is True
    status, body, _ = await admin.get(f"{base}/{created['id']}")
    assert status == 404 and body["code"] == "NOT_FOUND"

    status, logs, _ = await admin.get(f"/orgs/{admin.org_id}/audit-logs?entity=category")
    assert {e["action"] for e in logs} == {
        "category.create",
        "category.update",
        "category.delete",
    }


async def test_slugs_are_unique_per_org_with_numeric_suffixes(
    admin: Api, web_url: str, http
) -> None:
    first = await make_category(admin, "Shoes")
    second = await make_category(admin, "shoes!")
    third = await make_category(admin, "SHOES")
    assert [first["slug"], second["slug"], third["slug"]] == ["shoes", "shoes-2", "shoes-3"]
    # Another org has its own slugs.
    other = await signup(web_url, http, org="Other")
    assert (await make_category(other, "Shoes"))["slug"] == "shoes"
    # A slug given explicitly is taken as is, and refused when in use.
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/categories", {"name": "Boots", "slug": "shoes-2"}
    )
    assert status == 409 and body["code"] == "SLUG_TAKEN" and "slug" in body["details"]
    status, body, _ = await admin.put(
        f"/orgs/{admin.org_id}/categories/{third['id']}", {"slug": "shoes"}
    )
    assert status == 409 and body["code"] == "SLUG_TAKEN"
    status, body, _ = await admin.put(
        f"/orgs/{admin.org_id}/categories/{third['id']}", {"slug": "all-shoes"}
    )
    assert status == 200 and body["slug"] == "all-shoes"


async def test_the_tree_nests_children_sorted_by_sort_order_then_name(admin: Api) -> None:
    clothing = await make_category(admin, "Clothing", sortOrder=2)
    food = await make_category(admin, "Food", sortOrder=1)
    shirts = await make_category(admin, "Shirts", parentId=clothing["id"])
    await make_category(admin, "Coats", parentId=clothing["id"])
    await make_category(admin, "Accessories", parentId=clothing["id"], sortOrder=5)
    await make_category(admin, "Linen", parentId=shirts["id"])
    await make_category(admin, "Fruit", parentId=food["id"], isActive=False)

    status, tree, headers = await admin.get(f"/orgs/{admin.org_id}/categories/tree")
    assert status == 200, tree

    def names(nodes: list[dict]) -> list[Any]:
        return [(n["name"], names(n["children"])) if n["children"] else n["name"] for n in nodes]

    assert names(tree) == [
        ("Food", ["Fruit"]),
        ("Clothing", ["Coats", ("Shirts", ["Linen"]), "Accessories"]),
    ]
    status, active, _ = await admin.get(f"/orgs/{admin.org_id}/categories/tree?activeOnly=true")
    assert status == 200 and names(active)[0] == "Food"

    # The flat list filters by parent; `root` is the top level.
    status, roots, headers = await admin.get(f"/orgs/{admin.org_id}/categories?parentId=root")
    assert [c["name"] for c in roots] == ["Food", "Clothing"]
    assert headers["X-Total-Count"] == "2"
    status, kids, _ = await admin.get(
        f"/orgs/{admin.org_id}/categories?parentId={clothing['id']}&limit=2"
    )
    assert [c["name"] for c in kids] == ["Coats", "Shirts"]
    status, found, _ = await admin.get(f"/orgs/{admin.org_id}/categories?search=LIN")
    assert [c["name"] for c in found] == ["Linen"]


async def test_a_category_cannot_become_its_own_ancestor(admin: Api) -> None:
    base = f"/orgs/{admin.org_id}/categories"
    top = await make_category(admin, "Top")
    middle = await make_category(admin, "Middle", parentId=top["id"])
    bottom = await make_category(admin, "Bottom", parentId=middle["id"])

    status, body, _ = await admin.put(f"{base}/{top['id']}", {"parentId": top["id"]})
    assert status == 400 and body["code"] == "CATEGORY_CYCLE"
    assert body["details"] == {"parentId": "is this category itself"}
    status, body, _ = await admin.put(f"{base}/{top['id']}", {"parentId": bottom["id"]})
    assert status == 400 and body["details"] == {"parentId": "is a descendant of this category"}

    # Moving a subtree elsewhere, and back to the top level, is fine.
    other = await make_category(admin, "Other")
    status, moved, _ = await admin.put(f"{base}/{middle['id']}", {"parentId": other["id"]})
    assert status == 200 and moved["parentId"] == other["id"]
    status, moved, _ = await admin.put(f"{base}/{middle['id']}", {"parentId": None})
    assert status == 200 and moved["parentId"] is None


async def test_a_parent_must_be_a_category_of_the_same_org(admin: Api, web_url: str, http) -> None:
    other = await signup(web_url, http, org="Elsewhere")
    theirs = await make_category(other, "Theirs")
    for parent in (theirs["id"], "no-such-id"):
        status, body, _ = await admin.post(
            f"/orgs/{admin.org_id}/categories", {"name": "Mine", "parentId": parent}
        )
        assert status == 400 and body["code"] == "PARENT_NOT_FOUND"
        assert body["details"] == {"parentId": "no such category in this organisation"}


async def test_a_category_with_children_or_products_is_not_deleted(admin: Api) -> None:
    base = f"/orgs/{admin.org_id}/categories"
    parent = await make_category(admin, "Parent")
    child = await make_category(admin, "Child", parentId=parent["id"])
    status, product, _ = await admin.post(
        f"/orgs/{admin.org_id}/products", {"name": "Thing", "price": 1, "categoryId": child["id"]}
    )
    assert status == 201, product

    status, body, _ = await admin.delete(f"{base}/{parent['id']}")
    assert status == 409 and body["code"] == "CATEGORY_NOT_EMPTY"
    assert body["details"] == {"children": 1, "products": 0}
    status, body, _ = await admin.delete(f"{base}/{child['id']}")
    assert status == 409 and body["details"] == {"children": 0, "products": 1}

    await admin.delete(f"/orgs/{admin.org_id}/products/{product['id']}")
    assert (await admin.delete(f"{base}/{child['id']}"))[0] == 200
    assert (await admin.delete(f"{base}/{parent['id']}"))[0] == 200


async def test_bad_input_is_a_400_naming_each_field(admin: Api) -> None:
    base = f"/orgs/{admin.org_id}/categories"
    status, body, _ = await admin.post(
        base, {"name": "", "slug": "Not A Slug", "sortOrder": "first", "colour": "red"}
    )
    assert status == 400 and body["code"] == "VALIDATION_ERROR"
    assert {"name", "slug", "sortOrder", "colour"} <= set(body["details"])
    category = await make_category(admin, "Fine")
    status, body, _ = await admin.put(f"{base}/{category['id']}", {"name": None})
    assert status == 400 and set(body["details"]) == {"name"}


async def test_agents_read_categories_but_only_admins_write(admin: Api, web_url: str, http) -> None:
    base = f"/orgs/{admin.org_id}/categories"
    category = await make_category(admin, "Readable")
    agent = await invite_agent(admin, web_url, http)
    assert (await agent.get(base))[0] == 200
    assert (await agent.get(f"{base}/tree"))[0] == 200
    assert (await agent.get(f"{base}/{category['id']}"))[0] == 200
    for status, body, _ in (
        await agent.post(base, {"name": "Nope"}),
        await agent.put(f"{base}/{category['id']}", {"name": "Nope"}),
        await agent.delete(f"{base}/{category['id']}"),
    ):
        assert status == 403 and body["code"] == "FORBIDDEN"
    assert (await admin.get(f"{base}/{category['id']}"))[1]["name"] == "Readable"
    status, _, _ = await Api(web_url, http).get(base)
    assert status == 401


async def test_another_orgs_categories_are_404(admin: Api, web_url: str, http) -> None:
    other = await signup(web_url, http, org="Stranger")
    theirs = await make_category(other, "Private")
    base = f"/orgs/{admin.org_id}/categories"
    for status, body, _ in (
        await admin.get(f"{base}/{theirs['id']}"),
        await admin.get(f"{base}/slug/private"),
        await admin.put(f"{base}/{theirs['id']}", {"name": "Mine now"}),
        await admin.delete(f"{base}/{theirs['id']}"),
        await admin.get(f"/orgs/{other.org_id}/categories"),
    ):
        assert status == 404 and body["code"] == "NOT_FOUND"
    status, tree, _ = await admin.get(f"{base}/tree")
    assert all(n["id"] != theirs["id"] for n in tree)

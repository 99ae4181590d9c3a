"""The dashboards' customer counts (`customer_rollups`) stay equal to counting the customers
themselves, whichever way customers come and go: the CRM, the stream worker's first sight of a
sender, orders placed and cancelled, merges, deletions, and concurrent first orders."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from connectors.base import ChannelType
from inbox.caches import Caches
from inbox.crm import customer_rollups, sightings
from inbox.crm.customer_documents import Customer
from inbox.document_base import utcnow
from tests.fakes import payloads as p
from tests.integration.conftest import Api, eventually
from tests.integration.test_orders import placed, product, set_status


async def counted_by_hand(org_id: str) -> dict[str, Any]:
    """What the rollups must say, from every customer of the org."""
    docs = [doc async for doc in Customer.get_pymongo_collection().find({"orgId": org_id})]
    return {
        "customers": len(docs),
        "withOrders": sum(1 for d in docs if d.get("totalOrders", 0) > 0),
        "orders": sum(d.get("totalOrders", 0) for d in docs),
        "revenue": round(sum(d.get("totalRevenue", 0.0) for d in docs), 2),
    }


async def counted_by_rollups(org_id: str) -> dict[str, Any]:
    t = await customer_rollups.totals(org_id)
    return {
        "customers": t.customers,
        "withOrders": t.with_orders,
        "orders": t.orders,
        "revenue": t.revenue,
    }


async def assert_counts_match(admin: Api) -> dict[str, Any]:
    by_hand = await counted_by_hand(admin.org_id)
    assert await counted_by_rollups(admin.org_id) == by_hand
    # Where the top spenders are looked for: at least the highest revenue there is.
    docs = Customer.get_pymongo_collection().find({"orgId": admin.org_id}, {"totalRevenue": 1})
    highest = max([d.get("totalRevenue", 0.0) async for d in docs], default=0.0)
    assert (await customer_rollups.totals(admin.org_id)).max_revenue >= highest
    now = utcnow()
    day_ago = now - timedelta(days=1)
    assert (
        await customer_rollups.created(admin.org_id, day_ago, now + timedelta(seconds=1))
        == (by_hand["customers"])
    )
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers/segmentation")
    assert status == 200, body
    assert body["totalCustomers"] == by_hand["customers"]
    assert body["withOrders"]["count"] == by_hand["withOrders"]
    assert body["withOrders"]["totalOrders"] == by_hand["orders"]
    assert body["withOrders"]["totalRevenue"] == by_hand["revenue"]
    return by_hand


async def create_customer(admin: Api, name: str) -> dict[str, Any]:
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/customers",
        {"name": name, "email": f"{uuid.uuid4().hex[:8]}@example.com"},
    )
    assert status == 201, body
    return body


async def test_counts_follow_customers_through_crm_chat_orders_merge_and_delete(
    admin: Api, worker: Any
) -> None:
    ann, bob, cy = [await create_customer(admin, n) for n in ("Ann", "Bob", "Cy")]
    assert (await assert_counts_match(admin))["customers"] == 3

    # A sender the worker sees for the first time, twice (a redelivery counts once).
    status, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Shop", "config": {}}
    )
    assert status == 201
    sender = f"mock-{uuid.uuid4().hex[:8]}"
    payload = p.mock_text(f"m-{uuid.uuid4().hex}", sender, "hi", timestamp=None, name="Dee")
    for _ in range(2):
        assert (await admin.webhook(channel["id"], payload, None))[0] == 200

    async def chatter() -> dict | None:
        _, found, _ = await admin.get(f"/orgs/{admin.org_id}/customers?platform=MOCK")
        return found[0] if found else None

    dee = await eventually(chatter)
    assert (await assert_counts_match(admin))["customers"] == 4

    # Orders: Ann twice (one buyer), Bob once, then Bob's cancelled (no longer a buyer).
    item = await product(admin.org_id, "Mug", 12.5, 100)
    await placed(admin, ann["id"], [(item, 1)])
    await placed(admin, ann["id"], [(item, 2)])
    bobs = await placed(admin, bob["id"], [(item, 1)])
    counts = await assert_counts_match(admin)
    assert (counts["withOrders"], counts["orders"], counts["revenue"]) == (2, 3, 50.0)
    assert (await set_status(admin, bobs["id"], "cancelled"))[0] == 200
    counts = await assert_counts_match(admin)
    assert (counts["withOrders"], counts["orders"]) == (1, 2)

    # Merging the chat customer into Ann, then Ann (a buyer) into Cy (not one yet).
    await placed(admin, dee["id"], [(item, 1)])
    status, _, _ = await admin.post(
        f"/orgs/{admin.org_id}/customers/{ann['id']}/merge", {"otherId": dee["id"]}
    )
    assert status == 200
    counts = await assert_counts_match(admin)
    assert (counts["customers"], counts["withOrders"], counts["orders"]) == (3, 1, 3)
    status, _, _ = await admin.post(
        f"/orgs/{admin.org_id}/customers/{cy['id']}/merge", {"otherId": ann["id"]}
    )
    assert status == 200
    counts = await assert_counts_match(admin)
    assert (counts["customers"], counts["withOrders"], counts["orders"]) == (2, 1, 3)

    # Deleting a customer without orders (Bob's cancelled order still blocks his deletion)
    # takes them out of the counts and of today's new customers.
    hal = await create_customer(admin, "Hal")
    assert (await assert_counts_match(admin))["customers"] == 3
    status, _, _ = await admin.delete(f"/orgs/{admin.org_id}/customers/{hal['id']}")
    assert status == 200
    assert (await assert_counts_match(admin))["customers"] == 2


async def test_concurrent_first_orders_of_one_customer_count_one_buyer(admin: Api) -> None:
    eve = await create_customer(admin, "Eve")
    item = await product(admin.org_id, "Pen", 2.0, 100)
    await asyncio.gather(*(placed(admin, eve["id"], [(item, 1)]) for _ in range(6)))
    counts = await assert_counts_match(admin)
    assert (counts["withOrders"], counts["orders"], counts["revenue"]) == (1, 6, 12.0)


async def test_rebuilding_gives_the_same_counts_as_the_services_kept(admin: Api) -> None:
    first = await create_customer(admin, "Fay")
    await create_customer(admin, "Gus")
    item = await product(admin.org_id, "Cap", 8.0, 10)
    await placed(admin, first["id"], [(item, 2)])
    kept = await counted_by_rollups(admin.org_id)
    await customer_rollups.rebuild(admin.org_id)
    await customer_rollups.rebuild(admin.org_id)  # twice: the same documents, nothing doubled
    assert await counted_by_rollups(admin.org_id) == kept == await counted_by_hand(admin.org_id)


async def test_a_batch_of_first_sightings_makes_and_counts_each_customer_once(
    admin: Api,
) -> None:
    """The worker's batch path: new senders, one of them on two channels in the same batch,
    and a second worker seeing some of them at the same time."""
    await create_customer(admin, "Known")  # counted already: the batch adds to it
    at = utcnow()
    senders = [f"4915{uuid.uuid4().int % 10**9:09d}" for _ in range(5)]

    def seen(wa_id: str, channel: str) -> sightings.Sighting:
        return sightings.Sighting(
            admin.org_id,
            ChannelType.WHATSAPP,
            wa_id,
            channel,
            profile_name=f"${wa_id[-4:]} Shopper",
            last_message=("$5 off? {x}", at),
        )

    caches = Caches()  # one process's, shared by both batches
    batch = [seen(s, "channel-a") for s in senders] + [seen(senders[0], "channel-b")]
    other = [seen(s, "channel-c") for s in senders[3:]]
    first, second = await asyncio.gather(
        sightings.for_identities(batch, caches=caches),
        sightings.for_identities(other, caches=caches),
    )

    assert len(first) == len(batch) and len(second) == len(other)
    by_sender = {s: {c.id for c, _ in first + second if c.external_id == s} for s in senders}
    assert all(len(ids) == 1 for ids in by_sender.values()), by_sender
    assert sum(created for _, created in first + second) == len(senders)
    assert first[0][0].id == first[-1][0].id  # the same identity twice: one customer
    stored = await Customer.get_pymongo_collection().find_one({"_id": first[0][0].id})
    assert set(stored["channelIds"]) >= {"channel-a", "channel-b"}
    # Texts starting with "$" are stored as they are, never read as field paths.
    assert stored["lastMessage"] == "$5 off? {x}"
    assert stored["name"] == f"${senders[0][-4:]} Shopper"

    again = await sightings.for_identities(batch[:2], caches=caches)
    assert [created for _, created in again] == [False, False]
    assert (await assert_counts_match(admin))["customers"] == 1 + len(senders)

"""Customers as the CRM sees them: created by hand, one document per person across platforms
(a WhatsApp number is a phone number), edited, merged, deleted, and shown with their orders."""

from __future__ import annotations

import random
import uuid

import pytest

from inbox.commerce.documents import Order, OrderItem
from inbox.conversations.documents import Ticket, TicketStatus
from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, Api, eventually, signup
from tests.integration.test_auth import invite_agent
from tests.integration.test_pipeline import PHONE_ID, wa_channel

pytestmark = pytest.mark.usefixtures("worker")


def new_phone() -> tuple[str, str]:
    """A UK mobile number as a person types it, and the wa_id WhatsApp would send for it."""
    digits = f"7700{random.randint(100000, 999999)}"
    return f"+44 {digits[:4]} {digits[4:]}", f"44{digits}"


async def create(api: Api, **fields) -> tuple[int, dict]:
    status, body, _ = await api.post(f"/orgs/{api.org_id}/customers", fields)
    return status, body


async def customers(api: Api, query: str = "") -> tuple[list[dict], int]:
    status, body, headers = await api.get(f"/orgs/{api.org_id}/customers{query}")
    assert status == 200, body
    return body, int(headers["X-Total-Count"])


async def add_order(org_id: str, customer_id: str, total: float) -> Order:
    order = Order(
        org_id=org_id,
        order_number=f"ORD-TEST-{uuid.uuid4().hex[:8]}",
        customer_id=customer_id,
        items=[OrderItem(product_id="p1", name="Mug", quantity=1, unit_price=total, total=total)],
        subtotal=total,
        total=total,
    )
    await order.insert()
    return order


async def test_a_customer_is_created_with_normalised_contacts(admin):
    phone, _ = new_phone()
    status, body = await create(
        admin,
        name="  Jane Doe ",
        email="Jane.Doe@Example.COM",
        phone=phone,
        tags=["vip", " vip", "wholesale", ""],
        city="Leeds",
        notes="Prefers e-mail",
    )
    assert status == 201, body
    assert body["name"] == "Jane Doe" and body["email"] == "jane.doe@example.com"
    assert body["phone"] == phone.replace(" ", "")
    assert body["tags"] == ["vip", "wholesale"] and body["status"] == "active"
    assert body["platform"] is None and body["totalOrders"] == 0 and body["totalRevenue"] == 0
    assert {i["platform"] for i in body["identities"]} == {"EMAIL", "WHATSAPP", "SMS"}

    status, got, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{body['id']}")
    assert status == 200 and got["email"] == "jane.doe@example.com"
    assert got["recentTickets"] == [] and got["recentOrders"] == []


async def test_a_duplicate_email_in_the_org_is_a_conflict_naming_the_customer(admin, web_url, http):
    address = f"dup-{uuid.uuid4().hex[:6]}@example.com"
    status, first = await create(admin, name="First", email=address)
    assert status == 201
    status, body = await create(admin, name="Second", email=address.upper())
    assert status == 409, body
    assert body["code"] == "DUPLICATE_CUSTOMER"
    assert body["details"]["existingCustomerId"] == first["id"] and "email" in body["details"]
    _, total = await customers(admin, f"?search={address}")
    assert total == 1  # nothing half-written

    # Another org may know the same person.
    other = await signup(web_url, http, org="Elsewhere")
    status, _ = await create(other, name="Same person", email=address)
    assert status == 201


async def test_bad_contact_details_are_refused_with_field_details(admin):
    status, body = await create(admin, name="X", email="not-an-address", phone="12ab")
    assert status == 400 and body["code"] == "VALIDATION_ERROR"
    assert set(body["details"]) >= {"email", "phone"}
    status, body = await create(admin, email="a@b.co")
    assert status == 400 and "name" in body["details"]
    status, body = await create(admin, name="X", status="vip")
    assert status == 400 and "status" in body["details"]
    status, body = await create(admin, name="X", unknownField=1)
    assert status == 400


async def test_a_whatsapp_sender_with_a_known_phone_is_the_same_customer(admin, graph):
    phone, wa_id = new_phone()
    status, jane = await create(admin, name="Jane Doe", phone=phone)
    assert status == 201
    channel = await wa_channel(admin, graph)
    payload = p.whatsapp_text(PHONE_ID, wa_id, "JD 🌸", f"wamid.{wa_id}.1", "Hi, order 42?")
    assert (await admin.webhook(channel["id"], payload, APP_SECRET))[0] == 200

    async def threaded() -> dict | None:
        status, found, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{jane['id']}/tickets")
        return found[0] if status == 200 and found else None

    ticket = await eventually(threaded)
    assert ticket["customer"]["id"] == jane["id"]
    _, total = await customers(admin, "?search=Jane")
    assert total == 1
    status, got, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{jane['id']}")
    # The CRM's name is kept; the nickname does not overwrite it.
    assert got["name"] == "Jane Doe" and got["lastMessage"] == "Hi, order 42?"
    assert got["platform"] == "WHATSAPP" and got["externalId"] == wa_id
    assert channel["id"] in [t["channel"]["id"] for t in got["recentTickets"]]


async def test_a_phone_already_writing_on_whatsapp_cannot_become_a_second_customer(admin, graph):
    phone, wa_id = new_phone()
    channel = await wa_channel(admin, graph)
    payload = p.whatsapp_text(PHONE_ID, wa_id, "Kerry", f"wamid.{wa_id}.1", "Hello")
    assert (await admin.webhook(channel["id"], payload, APP_SECRET))[0] == 200

    async def written() -> dict | None:
        found, _ = await customers(admin, "?platform=WHATSAPP")
        return next((c for c in found if c["externalId"] == wa_id), None)

    kerry = await eventually(written)
    status, body = await create(admin, name="Kerry Fisher", phone=phone)
    assert status == 409 and body["details"]["existingCustomerId"] == kerry["id"]
    # ... but giving the WhatsApp customer their e-mail and phone is fine.
    status, body, _ = await admin.put(
        f"/orgs/{admin.org_id}/customers/{kerry['id']}",
        {"phone": phone, "email": f"kerry-{wa_id}@example.com", "name": "Kerry Fisher"},
    )
    assert status == 200, body
    assert body["phone"].lstrip("+") == wa_id and body["name"] == "Kerry Fisher"


async def test_updates_change_only_given_fields_and_free_old_contacts(admin):
    address = f"old-{uuid.uuid4().hex[:6]}@example.com"
    phone, _ = new_phone()
    status, ann = await create(admin, name="Ann", email=address, phone=phone, notes="n")
    assert status == 201
    path = f"/orgs/{admin.org_id}/customers/{ann['id']}"
    status, body, _ = await admin.put(
        path, {"email": f"new-{address}", "phone": None, "status": "blocked", "tags": ["x"]}
    )
    assert status == 200, body
    assert body["email"] == f"new-{address}" and body["phone"] is None
    assert body["status"] == "blocked" and body["tags"] == ["x"] and body["notes"] == "n"
    assert {i["platform"] for i in body["identities"]} == {"EMAIL"}
    # The old address and number are free for someone else now.
    status, _ = await create(admin, name="Bob", email=address, phone=phone)
    assert status == 201

    status, body, _ = await admin.put(path, {"name": ""})
    assert status == 400 and "name" in body["details"]
    status, body, _ = await admin.put(path, {"email": "nope"})
    assert status == 400 and "email" in body["details"]
    status, body, _ = await admin.put(path, {"status": None})
    assert status == 400


async def test_the_list_filters_by_orders_searches_contacts_and_sorts(admin, db):
    ids = {}
    for name, total in (("Zed", 0.0), ("Amy", 250.0), ("Max", 40.0)):
        status, body = await create(
            admin, name=name, email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@shop.test"
        )
        assert status == 201
        ids[name] = body["id"]
        if total:
            from inbox.crm.customer_documents import Customer

            await Customer.get_pymongo_collection().update_one(
                {"_id": body["id"]}, {"$inc": {"totalOrders": 1, "totalRevenue": total}}
            )

    found, total = await customers(admin, "?filter=with_orders&sortBy=totalRevenue")
    assert [c["name"] for c in found] == ["Amy", "Max"] and total == 2
    found, _ = await customers(admin, "?filter=with_orders&sortBy=totalRevenue&sortOrder=asc")
    assert [c["name"] for c in found] == ["Max", "Amy"]
    found, _ = await customers(admin, "?filter=without_orders")
    assert [c["name"] for c in found] == ["Zed"]
    found, _ = await customers(admin, "?sortBy=name")
    assert [c["name"] for c in found] == ["Amy", "Max", "Zed"]
    found, _ = await customers(admin, "?search=SHOP.TEST&sortBy=name&sortOrder=desc")
    assert [c["name"] for c in found] == ["Zed", "Max", "Amy"]

    for bad in ("?sortBy=password", "?filter=some", "?sortOrder=up", "?status=gone"):
        status, body, _ = await admin.get(f"/orgs/{admin.org_id}/customers{bad}")
        assert status == 400, (bad, body)


async def test_merging_moves_identities_tickets_orders_and_totals(admin, db):
    from inbox.crm.customer_documents import Customer

    channel_status, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert channel_status == 201
    sender = f"mock-{uuid.uuid4().hex[:8]}"
    payload = p.mock_text(
        f"m-{uuid.uuid4().hex}", sender, "first words", timestamp=None, name="Sam"
    )
    assert (await admin.webhook(channel["id"], payload, None))[0] == 200

    async def chatter() -> dict | None:
        found, _ = await customers(admin, "?platform=MOCK&search=Sam")
        return found[0] if found else None

    sam_chat = await eventually(chatter)
    status, sam = await create(admin, name="Samuel Ortiz", email=f"sam-{sender}@example.com")
    assert status == 201
    await add_order(admin.org_id, sam_chat["id"], 30.0)
    await Customer.get_pymongo_collection().update_one(
        {"_id": sam_chat["id"]}, {"$inc": {"totalOrders": 1, "totalRevenue": 30.0}}
    )

    status, merged, _ = await admin.post(
        f"/orgs/{admin.org_id}/customers/{sam['id']}/merge", {"otherId": sam_chat["id"]}
    )
    assert status == 200, merged
    assert merged["name"] == "Samuel Ortiz" and merged["email"] == f"sam-{sender}@example.com"
    assert {(i["platform"], i["externalId"]) for i in merged["identities"]} >= {("MOCK", sender)}
    assert merged["totalOrders"] == 1 and merged["totalRevenue"] == 30.0
    assert merged["lastMessage"] == "first words"
    status, _, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{sam_chat['id']}")
    assert status == 404
    status, detail, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{sam['id']}")
    assert [o["customer"]["id"] for o in detail["recentOrders"]] == [sam["id"]]
    assert len(detail["recentTickets"]) == 1

    # The worker learns of the merge: the next message lands on the surviving customer.
    payload = p.mock_text(f"m-{uuid.uuid4().hex}", sender, "still me", timestamp=None, name="Sam")
    assert (await admin.webhook(channel["id"], payload, None))[0] == 200

    async def landed() -> bool:
        status, got, _ = await admin.get(f"/orgs/{admin.org_id}/customers/{sam['id']}")
        return status == 200 and got["lastMessage"] == "still me"

    await eventually(landed)
    _, total = await customers(admin, "?platform=MOCK")
    assert total == 1

    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/customers/{sam['id']}/merge", {"otherId": sam["id"]}
    )
    assert status == 400 and "otherId" in body["details"]
    status, body, _ = await admin.post(
        f"/orgs/{admin.org_id}/customers/{sam['id']}/merge", {"otherId": "nobody"}
    )
    assert status == 400 and "otherId" in body["details"]


async def test_deleting_a_customer_is_for_admins_and_refused_while_they_have_orders(
    admin, web_url, http, db
):
    agent = await invite_agent(admin, web_url, http)
    status, buyer = await create(admin, name="Buyer")
    status, talker = await create(admin, name="Talker")
    status, quiet = await create(admin, name="Quiet", email=f"q-{uuid.uuid4().hex[:6]}@x.io")
    await add_order(admin.org_id, buyer["id"], 10.0)
    ticket = Ticket(
        org_id=admin.org_id,
        channel_id="c",
        customer_id=talker["id"],
        external_thread_id="t",
        subject="Open one",
        status=TicketStatus.OPEN,
    )
    await ticket.insert()

    path = f"/orgs/{admin.org_id}/customers/"
    assert (await agent.delete(path + quiet["id"]))[0] == 403
    status, body, _ = await admin.delete(path + buyer["id"])
    assert status == 409 and body["code"] == "CUSTOMER_HAS_ORDERS"
    status, body, _ = await admin.delete(path + talker["id"])
    assert status == 409 and body["details"]["ticketId"] == ticket.id

    other = await signup(web_url, http, org="Other")
    assert (await other.delete(f"/orgs/{other.org_id}/customers/{quiet['id']}"))[0] == 404
    assert (await admin.delete(path + quiet["id"]))[0] == 200
    assert (await admin.get(path + quiet["id"]))[0] == 404
    # Its e-mail address is free again.
    status, _ = await create(admin, name="Quiet again", email=quiet["email"])
    assert status == 201


async def test_another_orgs_customer_is_not_found(admin, web_url, http):
    status, mine = await create(admin, name="Mine")
    other = await signup(web_url, http, org="Other")
    path = f"/orgs/{other.org_id}/customers/{mine['id']}"
    assert (await other.get(path))[0] == 404
    assert (await other.put(path, {"name": "Stolen"}))[0] == 404
    status, _, _ = await other.post(path + "/merge", {"otherId": mine["id"]})
    assert status == 404
    status, _, _ = await other.get(f"/orgs/{admin.org_id}/customers")
    assert status in (403, 404)


async def test_a_ticket_shows_its_customers_recent_orders(admin, db):
    status, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Dev", "config": {}}
    )
    assert status == 201
    sender = f"mock-{uuid.uuid4().hex[:8]}"
    payload = p.mock_text(f"m-{uuid.uuid4().hex}", sender, "where is it?", timestamp=None)
    assert (await admin.webhook(channel["id"], payload, None))[0] == 200

    async def ticket() -> dict | None:
        status, found, _ = await admin.get(
            f"/orgs/{admin.org_id}/tickets?channelId={channel['id']}"
        )
        return found[0] if status == 200 and found else None

    summary = await eventually(ticket)
    customer_id = summary["customer"]["id"]
    older = await add_order(admin.org_id, customer_id, 12.5)
    newer = await add_order(admin.org_id, customer_id, 99.0)

    status, detail, _ = await admin.get(f"/orgs/{admin.org_id}/tickets/{summary['id']}")
    assert status == 200, detail
    assert [o["orderNumber"] for o in detail["recentOrders"]] == [
        newer.order_number,
        older.order_number,
    ]
    assert detail["recentOrders"][0]["total"] == 99.0 and detail["messages"]


async def test_a_first_message_announces_a_new_customer_once(admin, graph, http):
    from tests.integration.test_realtime import next_event

    channel = await wa_channel(admin, graph)
    _, wa_id = new_phone()
    async with http.ws_connect(f"{admin.base}/ws?token={admin.token}") as ws:
        for n in (1, 2):
            payload = p.whatsapp_text(PHONE_ID, wa_id, "Newcomer", f"wamid.{wa_id}.{n}", "hi")
            assert (await admin.webhook(channel["id"], payload, APP_SECRET))[0] == 200
        created = await next_event(ws, "customer.created")
        assert created["data"]["externalId"] == wa_id and created["data"]["name"] == "Newcomer"
        # The second message threads into the same customer and announces no new one.
        await next_event(ws, "message.created")
        await next_event(ws, "message.created")
        status, _, _ = await admin.post(
            f"/orgs/{admin.org_id}/customers", {"name": "Marker", "email": f"m{wa_id}@x.io"}
        )
        assert status == 201
        marker = await next_event(ws, "customer.created")
    assert marker["data"]["name"] == "Marker"

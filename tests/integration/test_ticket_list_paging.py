"""The inbox list reads recent-activity windows and keeps its counts: neither may ever change
what the list answers. Every page is compared with the plain sorted query, every count with
a real count, over tickets seeded with ties on and around the windows' edges."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.base import ChannelType
from inbox.conversations import ticket_counts, ticket_list
from inbox.conversations.documents import Ticket
from inbox.conversations.ticket_counts import TicketCounts
from inbox.conversations.ticket_list import ListWindows
from inbox.crm.customer_documents import Customer, Identity
from tests.fakes import payloads as p
from tests.integration.conftest import Api, eventually
from tests.integration.test_auth import invite_agent

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
STATUSES = ("OPEN", "PENDING", "CLOSED")
PRIORITIES = ("LOW", "MEDIUM", "HIGH")


def seeded_tickets(org_id: str, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Tickets in the shape Beanie stores them, with activity times that tie with each other
    and with the start of every window (as seen from NOW), and a few far in the past or
    a little in the future."""
    edges = [NOW - w for w in ticket_list.WINDOWS]
    ms = timedelta(milliseconds=1)
    special = [*edges, *(e - ms for e in edges), *(e + ms for e in edges), NOW + timedelta(hours=1)]
    agents = [str(uuid.uuid4()) for _ in range(3)]
    channels = [str(uuid.uuid4()) for _ in range(2)]
    docs = []
    for k in range(n):
        roll = rng.random()
        if roll < 0.35:
            at = rng.choice(special)
        elif roll < 0.45:
            at = NOW - timedelta(days=rng.choice([400, 800, 2000]))
        else:
            at = NOW - timedelta(seconds=rng.randint(0, 300 * 86400) // 600 * 600)
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "orgId": org_id,
            "channelId": rng.choice(channels),
            "customerId": str(uuid.uuid4()),
            "externalThreadId": f"thread-{k}",
            "subject": f"Ticket {k}",
            "status": rng.choice(STATUSES),
            "priority": rng.choice(PRIORITIES),
            "lastActivityAt": at,
            "createdAt": at - timedelta(hours=1),
            "updatedAt": at,
        }
        if rng.random() < 0.7:
            doc["assigneeId"] = rng.choice(agents)
        docs.append(doc)
    return docs


def filters_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every shape the inbox asks for, with values that occur in the data."""
    first = docs[0]
    agent = next(d["assigneeId"] for d in docs if d.get("assigneeId"))
    return [
        {},
        {"status": "OPEN"},
        {"status": "CLOSED"},
        {"assigneeId": agent},
        {"assigneeId": None},
        {"status": "OPEN", "assigneeId": agent},
        {"status": "PENDING", "assigneeId": None},
        {"channelId": first["channelId"]},  # not indexed: windowed on a subset
        {"status": "OPEN", "channelId": first["channelId"], "assigneeId": agent},
        {"priority": "HIGH", "status": "OPEN"},
        {"customerId": first["customerId"]},
        {"status": "OPEN", "assigneeId": "nobody-has-this-id"},
    ]


async def plain_page(org_id: str, filters: dict[str, Any], skip: int, limit: int) -> list[str]:
    coll = Ticket.get_pymongo_collection()
    cursor = coll.find({"orgId": org_id, **filters}, {"_id": 1}).sort(ticket_list.SORT)
    return [d["_id"] for d in await cursor.skip(skip).limit(limit).to_list()]


async def seed(n: int, seed_value: int) -> tuple[str, list[dict[str, Any]]]:
    org_id = f"org-{uuid.uuid4()}"
    docs = seeded_tickets(org_id, n, random.Random(seed_value))
    await Ticket.get_pymongo_collection().insert_many(docs)
    return org_id, docs


async def test_windowed_pages_equal_the_plain_sorted_query_with_ties_and_many_pages(monkeypatch):
    org_id, docs = await seed(400, 7)
    windows = ListWindows()
    answered_by_a_window = 0
    real_window = ticket_list._window

    async def window(query: dict[str, Any], *args: Any) -> Any:
        nonlocal answered_by_a_window
        found, last, full = await real_window(query, *args)
        answered_by_a_window += full and ticket_list.SORT_FIELD in query
        return found, last, full

    monkeypatch.setattr(ticket_list, "_window", window)
    for filters in filters_of(docs):
        total = await Ticket.get_pymongo_collection().count_documents({"orgId": org_id, **filters})
        for limit in (7, 20):
            # Through every page and one past the end; twice, so the second pass starts
            # from the remembered windows; once without and once with a count hint.
            for hint in (None, total):
                for skip in range(0, total + limit + 1, limit):
                    expected = await plain_page(org_id, filters, skip, limit)
                    got = await ticket_list.page(
                        org_id, filters, skip, limit, windows=windows, total_hint=hint, now=NOW
                    )
                    assert [t.id for t in got] == expected, (filters, skip, limit, hint)
    # The windows did answer: many pages were found before the unbounded query.
    assert answered_by_a_window > 50


async def test_windowed_pages_are_right_from_any_remembered_window_and_for_the_real_clock():
    org_id, docs = await seed(150, 11)
    filters = {"status": "OPEN"}
    key = ticket_list.filter_key(org_id, filters)
    windows = ListWindows()
    for level in range(ticket_list.UNBOUNDED + 1):
        windows.remember(key, level)  # start too wide, exactly right, or too narrow
        for skip in (0, 5, 40):
            got = await ticket_list.page(org_id, filters, skip, 5, windows=windows, now=NOW)
            assert [t.id for t in got] == await plain_page(org_id, filters, skip, 5)
    # The real clock is years before NOW: the seeded tickets are all "in the future".
    got = await ticket_list.page(org_id, {}, 10, 20, windows=windows)
    assert [t.id for t in got] == await plain_page(org_id, {}, 10, 20)


async def test_the_inbox_filters_are_windowed_on_an_index_that_reads_only_the_window():
    org_id, docs = await seed(300, 5)
    agent = next(d["assigneeId"] for d in docs if d.get("assigneeId"))
    db = Ticket.get_pymongo_collection().database
    since = NOW - ticket_list.WINDOWS[2]
    for filters in (
        {},
        {"status": "OPEN"},
        {"assigneeId": agent},
        {"assigneeId": None},
        {"status": "OPEN", "assigneeId": agent},
        {"status": "OPEN", "assigneeId": None},
    ):
        query, plan = ticket_list.windowed_query(org_id, filters, since)
        assert plan.windowed and not plan.residual, filters
        explained = await db.command(
            {
                "explain": {"find": "tickets", "filter": query, "sort": dict(ticket_list.SORT)},
                "verbosity": "executionStats",
            }
        )
        in_window = await db["tickets"].count_documents(query)
        stats = explained["executionStats"]
        assert "IXSCAN" in str(explained["queryPlanner"]["winningPlan"]), filters
        assert stats["totalDocsExamined"] == in_window < len(docs), filters


async def test_counts_follow_direct_changes_and_forget_after_deletions():
    org_id, docs = await seed(120, 3)
    coll = Ticket.get_pymongo_collection()
    agent = next(d["assigneeId"] for d in docs if d.get("assigneeId"))
    shapes = [{}, {"status": "OPEN"}, {"assigneeId": agent}, {"assigneeId": None}]
    shapes += [{"status": "OPEN", "assigneeId": agent}, {"channelId": docs[0]["channelId"]}]
    counts = TicketCounts()

    async def all_exact() -> None:
        for filters in shapes:
            real = await coll.count_documents({"orgId": org_id, **filters})
            assert await counts.count(org_id, filters) == real, filters

    await all_exact()
    now = datetime.now(UTC)
    # Writes as the app makes them: each sets lastActivityAt to its own time.
    await coll.update_one(
        {"_id": docs[1]["_id"]},
        {"$set": {"status": "OPEN", "assigneeId": agent, "lastActivityAt": now}},
    )
    await coll.update_one(
        {"_id": docs[2]["_id"]}, {"$unset": {"assigneeId": ""}, "$set": {"lastActivityAt": now}}
    )
    fresh = seeded_tickets(org_id, 5, random.Random(4))
    for d in fresh:
        d["lastActivityAt"] = now
    await coll.insert_many(fresh)
    await all_exact()
    await all_exact()  # the same changes read again change nothing
    await coll.delete_many({"_id": {"$in": [docs[3]["_id"], docs[4]["_id"]]}})
    counts.forget(org_id)
    await all_exact()


async def test_many_changes_at_once_are_recounted(monkeypatch):
    org_id, docs = await seed(60, 8)
    coll = Ticket.get_pymongo_collection()
    counts = TicketCounts()
    assert await counts.count(org_id, {"status": "CLOSED"}) == await coll.count_documents(
        {"orgId": org_id, "status": "CLOSED"}
    )
    monkeypatch.setattr(ticket_counts, "DELTA_LIMIT", 3)
    await coll.update_many(
        {"orgId": org_id}, {"$set": {"status": "CLOSED", "lastActivityAt": datetime.now(UTC)}}
    )
    assert await counts.count(org_id, {"status": "CLOSED"}) == len(docs)


async def test_a_count_too_large_to_follow_lags_writes_only_until_its_background_recount(
    monkeypatch,
):
    org_id, docs = await seed(40, 9)
    coll = Ticket.get_pymongo_collection()
    monkeypatch.setattr(ticket_counts, "ID_LIMIT", 10)
    monkeypatch.setattr(ticket_counts, "BIG_RECOUNT_EVERY", 0.0)
    counts = TicketCounts()
    assert await counts.count(org_id, {}) == 40
    fresh = seeded_tickets(org_id, 3, random.Random(10))
    for d in fresh:
        d["lastActivityAt"] = datetime.now(UTC)
    await coll.insert_many(fresh)
    # The first answer may be the last count; a recount then runs in the background.
    assert await counts.count(org_id, {}) in (40, 43)

    async def caught_up() -> bool:
        return await counts.count(org_id, {}) == 43

    await eventually(caught_up)


# ------------------------------------------------------------------ through the HTTP API


async def list_page(api: Api, query: str) -> tuple[list[str], int]:
    status, body, headers = await api.get(f"/orgs/{api.org_id}/tickets?{query}")
    assert status == 200, body
    return [t["id"] for t in body], int(headers["X-Total-Count"])


async def customer_on(api: Api) -> Customer:
    customer = Customer(
        org_id=api.org_id,
        name="Cora Customer",
        identities=[Identity(platform=ChannelType.MOCK, external_id=uuid.uuid4().hex)],
    )
    await customer.insert()
    return customer


@pytest.mark.usefixtures("worker")
async def test_list_counts_are_exact_right_after_create_assign_close_and_new_messages(
    admin, web_url, http
):
    agent = await invite_agent(admin, web_url, http)
    org = f"/orgs/{admin.org_id}"
    mock = {"type": "MOCK", "name": "Dev", "config": {}}
    _, channel, _ = await admin.post(f"{org}/channels", mock)
    me = admin.user["id"]
    queries = {
        "all": "",
        "open": "status=OPEN",
        "closed": "status=CLOSED",
        "mine": f"assigneeId={agent.user['id']}",
        "open-mine": f"status=OPEN&assigneeId={agent.user['id']}",
        "unassigned": "assigneeId=unassigned",
        "open-unassigned": "status=OPEN&assigneeId=unassigned",
        "channel": f"channelId={channel['id']}&status=OPEN",
        "admin": f"assigneeId={me}",
    }

    async def check() -> dict[str, int]:
        """Every list's count and pages against what MongoDB holds right now."""
        counts = {}
        coll = Ticket.get_pymongo_collection()
        for name, q in queries.items():
            ids, total = await list_page(admin, q + "&limit=2")
            status, body, _ = await admin.get(f"{org}/tickets?{q}&limit=100")
            assert status == 200 and len(body) == total, name
            assert ids == [t["id"] for t in body[:2]], name
            filters = _filters(q, admin.org_id)
            assert total == await coll.count_documents(filters), name
            counts[name] = total
        return counts

    assert set((await check()).values()) == {0}
    tickets = []
    for n in range(3):
        customer = await customer_on(admin)
        status, ticket, _ = await admin.post(
            f"{org}/tickets",
            {"channelId": channel["id"], "customerId": customer.id, "subject": f"T{n}"},
        )
        assert status == 201, ticket
        tickets.append(ticket)
    assert (await check())["open-unassigned"] == 3
    status, _, _ = await admin.post(
        f"{org}/tickets/{tickets[0]['id']}/assign", {"assigneeId": agent.user["id"]}
    )
    assert status == 200
    counts = await check()
    assert (counts["open-mine"], counts["open-unassigned"]) == (1, 2)
    assert (await admin.post(f"{org}/tickets/{tickets[0]['id']}/close"))[0] == 200
    counts = await check()
    assert (counts["open-mine"], counts["mine"], counts["closed"]) == (0, 1, 1)
    status, _, _ = await admin.put(f"{org}/tickets/{tickets[1]['id']}", {"status": "PENDING"})
    assert status == 200
    assert (await check())["open"] == 1
    # A message from a new customer: the worker opens a ticket; the lists count it at once.
    payload = p.mock_text(f"m-{uuid.uuid4().hex}", f"mock-{uuid.uuid4().hex[:8]}", "hi", None)
    assert (await admin.webhook(channel["id"], payload, None))[0] == 200

    async def four() -> bool:
        return (await list_page(admin, ""))[1] == 4

    await eventually(four)
    counts = await check()
    assert (counts["all"], counts["open"], counts["open-unassigned"]) == (4, 2, 2)


def _filters(query: str, org_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {"orgId": org_id}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        if key == "limit":
            continue
        out[key] = None if value == "unassigned" else value
    return out

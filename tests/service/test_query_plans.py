"""Reads the product makes on every request are planned on an index by the embedded server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from inbox.conversations.documents import Ticket
from inbox.crm.customer_documents import Customer


def _stages(plan: dict[str, Any]) -> set[str]:
    found = {plan.get("stage", "")}
    for key in ("inputStage", "queryPlan"):
        if isinstance(plan.get(key), dict):
            found |= _stages(plan[key])
    return found


async def _plan(query: Any) -> set[str]:
    collection = query.document_model.get_pymongo_collection()
    explained = await collection.find(query.get_filter_query()).explain()
    return _stages(explained["queryPlanner"]["winningPlan"])


async def test_an_org_scoped_read_by_id_uses_an_index(db):
    query = Ticket.find(Ticket.org_id == "org", Ticket.id == "ticket")
    assert query.get_filter_query() == {"orgId": "org", "_id": "ticket"}
    assert "IXSCAN" in await _plan(query)
    assert "IXSCAN" in await _plan(Customer.find(Customer.org_id == "org", Customer.id == "c"))


async def test_find_one_and_update_keeps_pymongos_meaning(db):
    import asyncio

    from pymongo import ReturnDocument

    from inbox.queries import find_one_and_delete, find_one_and_update

    coll = Customer.get_pymongo_collection().database["query_probe"]
    await coll.insert_many([{"_id": f"d{i}", "status": "QUEUED", "n": i} for i in range(5)])

    after = await find_one_and_update(
        coll, {"_id": "d0"}, {"$inc": {"n": 10}}, return_document=ReturnDocument.AFTER
    )
    assert after == {"_id": "d0", "status": "QUEUED", "n": 10}
    before = await find_one_and_update(coll, {"status": "QUEUED", "n": 1}, {"$set": {"n": 11}})
    assert before == {"_id": "d1", "status": "QUEUED", "n": 1}
    assert await find_one_and_update(coll, {"_id": "none"}, {"$set": {"n": 1}}) is None
    assert await find_one_and_update(coll, {"status": "GONE"}, {"$set": {"n": 1}}) is None
    made = await find_one_and_update(
        coll, {"_id": "new"}, {"$inc": {"seq": 1}}, upsert=True, return_document=True
    )
    assert made == {"_id": "new", "seq": 1}

    # A claim raced by ten callers is won by exactly one.
    claims = await asyncio.gather(
        *(
            find_one_and_update(
                coll,
                {"_id": "d2", "status": "QUEUED"},
                {"$set": {"status": "SENDING"}},
                return_document=ReturnDocument.AFTER,
            )
            for _ in range(10)
        )
    )
    assert [c["status"] for c in claims if c] == ["SENDING"]

    gone = await find_one_and_delete(coll, {"status": "QUEUED", "n": 3})
    assert gone == {"_id": "d3", "status": "QUEUED", "n": 3}
    assert await coll.count_documents({"_id": "d3"}) == 0
    assert await find_one_and_delete(coll, {"_id": "d3"}) is None
    await coll.drop()


async def test_a_tickets_messages_are_read_through_an_index(db):
    from inbox.conversations.messages import ticket_messages

    ticket = Ticket.model_construct(id="ticket", org_id="org")
    assert "IXSCAN" in await _plan(ticket_messages(ticket))


async def test_the_users_of_a_batchs_orgs_are_read_through_an_index(db):
    from inbox.accounts.documents import User

    # What the notifications agent asks (activity is checked on the documents read).
    assert "IXSCAN" in await _plan(User.find({"orgId": {"$in": ["org-a", "org-b"]}}))


async def test_lookups_by_more_values_than_one_in_list_find_each_document_once(db):
    from inbox.queries import IN_CHUNK, by_id, find_in, models_by_id, update_in

    coll = Ticket.get_pymongo_collection().database["in_probe"]
    count = IN_CHUNK * 2 + 7
    await coll.insert_many([{"_id": f"d{i}", "key": f"k{i}", "n": i} for i in range(count)])
    wanted = [f"d{i}" for i in range(count)] + ["d0", "d1", "missing"]  # repeats, an unknown

    found = await by_id(coll, wanted)
    assert sorted(found) == sorted(f"d{i}" for i in range(count))
    assert found["d5"]["n"] == 5

    by_key = await find_in(coll, "key", [f"k{i}" for i in range(count)] * 2, {"n": 1})
    assert sorted(d["n"] for d in by_key) == list(range(count))
    assert set(by_key[0]) == {"_id", "n"}  # the projection holds in every chunk

    matched = await update_in(coll, wanted[: IN_CHUNK + 3], {"$set": {"seen": True}})
    assert matched == IN_CHUNK + 3
    assert await coll.count_documents({"seen": True}) == IN_CHUNK + 3

    assert await by_id(coll, []) == {} and await update_in(coll, [], {"$set": {"x": 1}}) == 0
    await Ticket.get_pymongo_collection().insert_many(
        [
            {
                "_id": f"t{i}",
                "orgId": "org",
                "channelId": "ch",
                "externalThreadId": f"th{i}",
                "subject": "s",
                "lastActivityAt": datetime(2026, 12, 1, tzinfo=UTC),
            }
            for i in range(IN_CHUNK + 1)
        ]
    )
    tickets = await models_by_id(Ticket, [f"t{i}" for i in range(IN_CHUNK + 1)] + [None, ""])
    assert len(tickets) == IN_CHUNK + 1 and all(isinstance(t, Ticket) for t in tickets.values())
    assert tickets["t3"].external_thread_id == "th3"

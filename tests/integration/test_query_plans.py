"""Reads the product makes on every request are planned on an index by the embedded server."""

from __future__ import annotations

from typing import Any

from inbox.documents import Customer, Ticket


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

    from inbox.documents.queries import find_one_and_delete, find_one_and_update

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
    from inbox.services.messages import ticket_messages

    ticket = Ticket.model_construct(id="ticket", org_id="org")
    assert "IXSCAN" in await _plan(ticket_messages(ticket))


async def test_the_users_of_a_batchs_orgs_are_read_through_an_index(db):
    from inbox.documents import User

    # What the notifications agent asks (activity is checked on the documents read).
    assert "IXSCAN" in await _plan(User.find({"orgId": {"$in": ["org-a", "org-b"]}}))

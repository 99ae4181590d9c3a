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

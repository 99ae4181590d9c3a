"""Opening the database: one PyMongo async client per process, Beanie bound to it."""

from __future__ import annotations

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect

from inbox.config import Settings
from inbox.documents import ALL_DOCUMENTS
from inbox.services import customer_rollups, rollups


async def connect(settings: Settings) -> AsyncMongoClient:
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
        uuidRepresentation="standard",
        # The embedded server closes a connection idle for 300 s, and with retryWrites off
        # (see inbox/embedded.py) the first write on such a pooled connection would fail.
        # Retiring pooled connections after 4 idle minutes means we never use one it closed.
        maxIdleTimeMS=240_000,
    )
    await _migrate(client[settings.mongodb_db])
    await init_beanie(database=client[settings.mongodb_db], document_models=ALL_DOCUMENTS)
    return client


# Indexes whose options changed: Beanie creates indexes but never alters one, so an old data
# directory would refuse the new definition. (collection, index name) dropped when unique.
_CHANGED_UNIQUE_INDEXES = [
    # Customers became one document per person; identities are unique in customer_identities.
    ("customers", "orgId_1_platform_1_externalId_1"),
]


async def _migrate(db: AsyncDatabase) -> None:
    for collection, name in _CHANGED_UNIQUE_INDEXES:
        indexes = await db[collection].index_information()
        if indexes.get(name, {}).get("unique"):
            await db[collection].drop_index(name)
    await _backfill_customer_identities(db)
    await rollups.migrate(db)  # orgs whose orders predate the dashboards' rollups
    await customer_rollups.migrate(db)  # orgs whose customers predate the customer rollups


async def _backfill_customer_identities(db: AsyncDatabase) -> None:
    """Customers stored before customers had identities and CRM fields get them. Idempotent:
    only documents without `identities` are touched, and claims already made are kept."""
    customers, claims = db["customers"], db["customer_identities"]
    async for doc in customers.find({"identities": {"$exists": False}}):
        found = []
        if doc.get("platform") and doc.get("externalId"):
            found = [{"platform": doc["platform"], "externalId": doc["externalId"]}]
            key = f"{doc['orgId']}:{doc['platform']}:{doc['externalId']}"
            if await claims.find_one({"_id": key}) is None:
                await claims.insert_one(
                    {
                        "_id": key,
                        "orgId": doc["orgId"],
                        "customerId": doc["_id"],
                        "platform": doc["platform"],
                        "externalId": doc["externalId"],
                        "createdAt": doc.get("createdAt"),
                    }
                )
        await customers.update_one(
            {"_id": doc["_id"]}, {"$set": {"identities": found, **_CUSTOMER_DEFAULTS}}
        )


_CUSTOMER_DEFAULTS = {
    "tags": [],
    "status": "active",
    "totalOrders": 0,
    "totalRevenue": 0.0,
}


async def ping(client: AsyncMongoClient) -> None:
    try:
        await client.admin.command("ping")
    except AutoReconnect:
        # A pooled connection the server had closed: the driver has dropped it; ask again on
        # a fresh one before calling MongoDB down.
        await client.admin.command("ping")

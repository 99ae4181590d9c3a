"""Opening the database: one PyMongo async client per process, Beanie bound to it."""

from __future__ import annotations

import logging

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect

from inbox.analytics import rollups
from inbox.config import Settings
from inbox.crm import customer_rollups
from inbox.registry import ALL_DOCUMENTS

log = logging.getLogger(__name__)


async def connect(settings: Settings) -> AsyncMongoClient:
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
        uuidRepresentation="standard",
        # The embedded server closes a connection idle for 300 s, and with retryWrites off
        # (see app/embedded.py) the first write on such a pooled connection would fail.
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


# Indexes no longer declared (Beanie creates indexes but never drops one): each would still
# cost every write to its collection.
_RETIRED_INDEXES = [
    # Replaced by (externalMessageId, channelId, direction): see `Message.Settings`.
    ("messages", "externalMessageId_1_channelId_1"),
    # Nothing reads the webhook journal by org.
    ("webhook_deliveries", "orgId_1_createdAt_-1"),
]


async def _migrate(db: AsyncDatabase) -> None:
    for collection, name in _CHANGED_UNIQUE_INDEXES:
        indexes = await db[collection].index_information()
        if indexes.get(name, {}).get("unique"):
            await db[collection].drop_index(name)
    for collection, name in _RETIRED_INDEXES:
        if name in await db[collection].index_information():
            await db[collection].drop_index(name)
    await _undouble_messages(db)
    await _backfill_customer_identities(db)
    await rollups.migrate(db)  # orgs whose orders predate the dashboards' rollups
    await customer_rollups.migrate(db)  # orgs whose customers predate the customer rollups


async def _undouble_messages(db: AsyncDatabase) -> None:
    """Data directories from before the unique (channelId, externalMessageId) index existed
    (Beanie skipped it, see `Message.Settings`) may hold a platform message twice; the later
    copies go, so that Beanie can create the index. Runs only while the index is missing."""
    messages = db["messages"]
    if "channelId_1_externalMessageId_1" in await messages.index_information():
        return
    doubled = await messages.aggregate(
        [
            {"$match": {"externalMessageId": {"$type": "string"}}},
            {"$sort": {"createdAt": 1}},
            {
                "$group": {
                    "_id": {"c": "$channelId", "e": "$externalMessageId"},
                    "ids": {"$push": "$_id"},
                }
            },
            {"$match": {"ids.1": {"$exists": True}}},
        ]
    )
    extra = [i async for group in doubled for i in group["ids"][1:]]
    if extra:
        log.warning("removing %d doubled copies of platform messages", len(extra))
        await messages.delete_many({"_id": {"$in": extra}})


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

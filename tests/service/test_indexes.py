"""Every index the documents declare exists in the database, and the unique ones hold there
(not only in the services' own checks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from inbox import db as inbox_db
from inbox.config import Settings
from inbox.conversations.documents import Message
from inbox.document_base import utcnow
from inbox.registry import ALL_DOCUMENTS


async def test_every_declared_index_exists(db: None) -> None:
    missing = []
    for document in ALL_DOCUMENTS:
        settings = document.__dict__.get("Settings")
        declared = [ix.document["name"] for ix in getattr(settings, "indexes", [])]
        if not declared:
            continue
        existing = await document.get_pymongo_collection().index_information()
        missing += [f"{settings.name}.{name}" for name in declared if name not in existing]
    assert missing == []


async def test_the_database_refuses_a_second_copy_of_a_platform_message(db: None) -> None:
    coll = Message.get_pymongo_collection()
    base = {"orgId": "o", "ticketId": "t", "content": "hi", "direction": "INBOUND"}
    await coll.insert_one({**base, "_id": "m-1", "channelId": "c", "externalMessageId": "wamid.1"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one(
            {**base, "_id": "m-2", "channelId": "c", "externalMessageId": "wamid.1"}
        )
    # Replies wait for their platform id: any number of them may have none yet.
    await coll.insert_many([{**base, "_id": f"r-{i}", "channelId": "c"} for i in range(3)])
    await coll.insert_one(
        {**base, "_id": "m-3", "channelId": "other", "externalMessageId": "wamid.1"}
    )


async def test_an_old_data_directory_loses_its_doubled_messages_and_gains_the_unique_index(
    settings: Settings,
) -> None:
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    old = client[f"{settings.mongodb_db}_old"]
    try:
        await old.messages.create_index([("externalMessageId", 1), ("channelId", 1)])
        await old.webhook_deliveries.create_index([("orgId", 1), ("createdAt", -1)])
        at = utcnow()
        await old.messages.insert_many(
            [
                {"_id": "first", "channelId": "c", "externalMessageId": "x", "createdAt": at},
                {
                    "_id": "again",
                    "channelId": "c",
                    "externalMessageId": "x",
                    "createdAt": at + timedelta(seconds=1),
                },
                {"_id": "other", "channelId": "d", "externalMessageId": "x", "createdAt": at},
                {"_id": "reply-1", "channelId": "c", "createdAt": at},
                {"_id": "reply-2", "channelId": "c", "createdAt": at},
            ]
        )

        await inbox_db._migrate(old)

        kept = sorted([d["_id"] async for d in old.messages.find({}, {"_id": 1})])
        assert kept == ["first", "other", "reply-1", "reply-2"]
        assert "externalMessageId_1_channelId_1" not in await old.messages.index_information()
        assert "orgId_1_createdAt_-1" not in await old.webhook_deliveries.index_information()
        unique = [ix for ix in Message.Settings.indexes if ix.document.get("unique")]
        await old.messages.create_indexes(unique)  # what Beanie does next at startup
        await inbox_db._migrate(old)  # and again at the next start: nothing more to do
        assert await old.messages.count_documents({}) == 4
    finally:
        await client.drop_database(old.name)
        await client.close()

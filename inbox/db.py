"""Opening the database: one PyMongo async client per process, Beanie bound to it."""

from __future__ import annotations

from beanie import init_beanie
from pymongo import AsyncMongoClient

from inbox.config import Settings
from inbox.documents import ALL_DOCUMENTS


async def connect(settings: Settings) -> AsyncMongoClient:
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=10_000,
        uuidRepresentation="standard",
    )
    await init_beanie(database=client[settings.mongodb_db], document_models=ALL_DOCUMENTS)
    return client


async def ping(client: AsyncMongoClient) -> None:
    await client.admin.command("ping")

"""The worker's done-marks on the webhook journal (`webhooks.mark_done`): a delivery is
PROCESSED once every one of its events is finished, however the events were batched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.base import InboundMessage
from inbox.channels.documents import Channel, WebhookDelivery
from inbox.channels.intake import journal_entry, mark_done
from inbox.records import InboundRecord


def _record(delivery_id: str, index: int, event_count: int | None) -> InboundRecord:
    event = InboundMessage(
        thread_id="15550001111",
        external_message_id=f"wamid.{delivery_id}.{index}",
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        type="text",
        content="hello",
    )
    return InboundRecord(
        delivery_id=delivery_id,
        index=index,
        org_id="org-1",
        channel_id="ch-1",
        event=event,
        event_count=event_count,
    )


async def _journal(*deliveries: tuple[str, int]) -> None:
    channel = Channel.model_construct(id="ch-1", org_id="org-1")
    await WebhookDelivery.get_pymongo_collection().insert_many(
        [
            journal_entry(d, channel, "{}", status="RECEIVED", event_count=n, errors=[])
            for d, n in deliveries
        ]
    )


async def _stored(delivery_id: str) -> dict[str, Any]:
    doc = await WebhookDelivery.get_pymongo_collection().find_one({"_id": delivery_id})
    assert doc is not None
    return doc


async def test_deliveries_whose_events_all_finish_in_one_batch_are_processed(db):
    ids = [f"single-{i}" for i in range(120)]  # more than one `$in` chunk
    await _journal(*[(d, 1) for d in ids], ("pair", 2))
    await mark_done(
        [*(_record(d, 0, 1) for d in ids), _record("pair", 1, 2), _record("pair", 0, 2)]
    )
    for delivery_id in [*ids, "pair"]:
        doc = await _stored(delivery_id)
        assert doc["status"] == "PROCESSED", delivery_id
    assert (await _stored("pair"))["doneEvents"] == [0, 1]
    assert (await _stored(ids[0]))["doneEvents"] == [0]


async def test_a_delivery_finished_over_two_batches_is_processed_after_the_second(db):
    await _journal(("three", 3))
    await mark_done([_record("three", 0, 3), _record("three", 2, 3)])
    doc = await _stored("three")
    assert doc["status"] == "RECEIVED" and doc["doneEvents"] == [0, 2]

    await mark_done([_record("three", 1, 3)])
    doc = await _stored("three")
    assert doc["status"] == "PROCESSED" and doc["doneEvents"] == [0, 1, 2]


async def test_a_record_without_an_event_count_still_completes_its_delivery(db):
    # Records put on the topic before they carried the delivery's event count.
    await _journal(("old", 1), ("old-pair", 2))
    await mark_done([_record("old", 0, None), _record("old-pair", 0, None)])
    assert (await _stored("old"))["status"] == "PROCESSED"
    assert (await _stored("old-pair"))["status"] == "RECEIVED"


async def test_a_record_done_again_leaves_its_delivery_processed(db):
    # Kafka redelivers, the sweeper hands over again: the mark is idempotent.
    await _journal(("again", 1))
    await mark_done([_record("again", 0, 1)])
    await mark_done([_record("again", 0, 1), _record("again", 0, 1)])
    doc = await _stored("again")
    assert doc["status"] == "PROCESSED" and doc["doneEvents"] == [0]


async def test_marking_nothing_writes_nothing(db):
    await _journal(("untouched", 1))
    await mark_done([])
    assert (await _stored("untouched"))["status"] == "RECEIVED"

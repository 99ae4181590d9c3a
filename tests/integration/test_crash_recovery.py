"""kill -9 of the worker mid-stream loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import payloads as p
from tests.integration.conftest import APP_SECRET, eventually, wait_healthy
from tests.integration.test_pipeline import PHONE_ID, new_wa_id, wa_channel


@pytest.fixture
async def restartable_worker(worker, web_url):
    yield worker
    # Leave a healthy worker behind for whichever test runs next.
    if worker.proc is None or worker.proc.poll() is not None:
        worker.start()
    await wait_healthy(web_url, timeout=90)


async def test_killing_the_worker_mid_stream_loses_and_doubles_nothing(
    admin, graph, restartable_worker, db
):
    from inbox.channels.documents import WebhookDelivery
    from inbox.conversations.documents import Message, Ticket

    channel = await wa_channel(admin, graph)
    threads = [new_wa_id() for _ in range(6)]
    # One reply already waiting to be sent when the worker dies.
    await admin.webhook(
        channel["id"],
        p.whatsapp_text(PHONE_ID, threads[0], "K", f"wamid.{threads[0]}.0", "first"),
        APP_SECRET,
    )
    ticket = await eventually(lambda: Ticket.find_one(Ticket.external_thread_id == threads[0]))

    sent_total = 0

    async def send_batch(round_: int) -> None:
        nonlocal sent_total
        messages = [
            p.wa_text_message(
                f"wamid.{t}.{round_}.{k}", f"r{round_} m{k}", t, p.TS + round_ * 10 + k
            )
            for t in threads
            for k in range(2)
        ]
        status, _, _ = await admin.webhook(
            channel["id"], p.whatsapp_payload(PHONE_ID, messages=messages), APP_SECRET
        )
        assert status == 200
        sent_total += len(messages)

    await send_batch(1)
    _, reply, _ = await admin.post(
        f"/orgs/{admin.org_id}/tickets/{ticket.id}/messages", {"content": "survive me"}
    )
    await send_batch(2)
    restartable_worker.kill()  # SIGKILL: no shutdown, no offset commit
    for round_ in range(3, 6):
        await send_batch(round_)  # accepted while no worker runs
    await asyncio.sleep(0.5)
    restartable_worker.start()

    expected = sent_total + 1

    async def all_threaded():
        return (
            await Message.find(
                Message.channel_id == channel["id"], Message.direction == "INBOUND"
            ).count()
            == expected
        )

    await eventually(all_threaded, timeout=120, interval=0.5)
    inbound = await Message.find(
        Message.channel_id == channel["id"], Message.direction == "INBOUND"
    ).to_list()
    assert len({m.external_message_id for m in inbound}) == len(inbound) == expected
    for t in threads:
        assert (
            await Ticket.find(
                Ticket.channel_id == channel["id"], Ticket.external_thread_id == t
            ).count()
            == 1
        )

    async def reply_sent():
        msg = await Message.find_one(Message.id == reply["id"])
        return msg if msg.status == "SENT" else None

    await eventually(reply_sent, timeout=120, interval=0.5)
    assert len([r for r in graph.sent if r["headers"].get("Idempotency-Key") == reply["id"]]) == 1

    async def journal_done():
        pending = await WebhookDelivery.find(
            WebhookDelivery.channel_id == channel["id"], WebhookDelivery.status != "PROCESSED"
        ).count()
        return pending == 0

    await eventually(journal_done, timeout=60, interval=0.5)

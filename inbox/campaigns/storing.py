"""The store phase of a campaign batch (steps 4-5 of sending.py's docstring), after its sends.

The sent (or failed) messages are threaded like agents' replies: in the conversation's open
ticket, or a new PENDING one (one `insert_many`), the messages (one `insert_many`, with their
outcome and ids derived from the recipients), then `ticket.created`, `message.created` and
`message.sent`. Then the recipients follow their messages to SENT or FAILED (one
`bulk_write` per outcome, each update conditional on PENDING) and each campaign's counters
move by what those writes changed. A message is only ever written once, with its outcome.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from connectors.base import ChannelType, DeliveryStatus, Direction
from inbox import events
from inbox.campaigns.documents import Campaign, CampaignRecipient, RecipientStatus
from inbox.campaigns.send_jobs import UNSENT, Job, SentBatch
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.conversations.threader import apply_pending_statuses, public_message
from inbox.conversations.views import ticket_view
from inbox.document_base import utcnow
from inbox.ports import Deps
from inbox.queries import by_id, duplicate_positions, duplicates_of, find_in

_SENT = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value, DeliveryStatus.READ.value)


async def store_phase(deps: Deps, sent: SentBatch) -> None:
    """Steps 4-5: thread and store the messages with their outcome, settle the recipients."""
    await _store(deps, [j for j in sent.fresh if j.outcome is not None])
    await _record_resends(deps, [j for j in sent.resent if j.outcome is not None])
    await _settle(sent.jobs)


async def _store(deps: Deps, jobs: list[Job]) -> None:
    """Thread the sent (or failed) messages like agents' replies: in the conversation's open
    ticket, or a new PENDING one waiting on the customer (their answer reopens it as OPEN),
    then announce them."""
    if not jobs:
        return
    now = utcnow()
    by_key: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_key[ticket_service.open_key(job.channel.id, job.contact)].append(job)
    tickets, created = await _open_tickets(by_key, now)
    updates = [
        UpdateOne(
            {"_id": tickets[key].id},
            {
                "$set": {"lastMessagePreview": group[-1].content[:200], "updatedAt": now},
                "$max": {"lastMessageAt": now, "lastActivityAt": now},
            },
        )
        for key, group in by_key.items()
        if key not in created
    ]
    if updates:
        await Ticket.get_pymongo_collection().bulk_write(updates, ordered=False)
    docs = {
        job.message_id: _message_doc(job, tickets[key].id, now)
        for key, group in by_key.items()
        for job in group
    }
    inserted = await _insert_messages(deps, list(docs.values()))
    for job in jobs:
        job.message = docs[job.message_id] if job.message_id in inserted else None
    theirs = await by_id(
        Message.get_pymongo_collection(), [j.message_id for j in jobs if j.message is None]
    )
    for job in jobs:
        job.message = job.message or theirs.get(job.message_id)

    # Announced like a reply's: new tickets, the messages (already with their outcome), the
    # moved tickets; `message.sent` once per message that went out.
    # New tickets are shown from what is in hand (no assignee yet); the few existing ones
    # are read with their assignee and customer.
    jobs_of = {key: group[0] for key, group in by_key.items()}
    shown = {
        tickets[key].id: ticket_view(
            tickets[key], jobs_of[key].channel, jobs_of[key].customer, None
        )
        for key in created
    }
    existing = [tickets[key] for key in by_key if key not in created]
    shown.update({v.id: v for v in await ticket_service.views(existing)} if existing else {})
    publish: list[tuple[str, dict[str, Any]]] = [
        (events.TICKET_CREATED, shown[tickets[key].id].dump()) for key in created
    ]
    for job in jobs:
        if job.message_id not in inserted:
            continue
        message = _public(docs[job.message_id])
        publish.append((events.MESSAGE_CREATED, message))
        if job.outcome is not None and job.outcome.status == DeliveryStatus.SENT:
            publish.append((events.MESSAGE_SENT, message))
    publish += [
        (events.TICKET_UPDATED, shown[tickets[key].id].dump())
        for key in by_key
        if key not in created
    ]
    await _publish_all(deps, jobs[0].campaign.org_id, publish)
    await _pending_receipts(deps, [j for j in jobs if j.message_id in inserted])


def _message_doc(job: Job, ticket_id: str, now: datetime) -> dict[str, Any]:
    assert job.outcome is not None
    return Message(
        id=job.message_id,
        org_id=job.campaign.org_id,
        ticket_id=ticket_id,
        channel_id=job.channel.id,
        external_thread_id=job.contact,
        direction=Direction.OUTBOUND,
        external_message_id=job.outcome.external_id,
        sender_name=job.campaign.name,
        content=job.content,
        metadata=job.metadata,
        status=job.outcome.status,
        error=job.outcome.error,
        attempts=job.outcome.attempts,
        timestamp=now,
        created_at=now,
        updated_at=now,
    ).model_dump(by_alias=True, exclude_none=True)


async def _insert_messages(deps: Deps, docs: list[dict[str, Any]]) -> set[str]:
    """Insert the messages; returns the ids inserted here. An `_id` already there is an
    earlier run's; an external id already there is the platform's echo of our own send
    (Messenger), threaded before we stored the send: that copy goes, ours stays."""
    coll = Message.get_pymongo_collection()
    try:
        await coll.insert_many(docs, ordered=False)
        return {d["_id"] for d in docs}
    except BulkWriteError as exc:
        errors = duplicates_of(exc)
        failed = {e["index"] for e in errors}
        inserted = {d["_id"] for i, d in enumerate(docs) if i not in failed}
        for error in errors:
            doc = docs[error["index"]]
            if "externalMessageId" in str(error.get("keyPattern") or error.get("errmsg")):
                if await _replace_echo(deps, doc):
                    inserted.add(doc["_id"])
        return inserted


async def _replace_echo(deps: Deps, doc: dict[str, Any]) -> bool:
    coll = Message.get_pymongo_collection()
    echo = await coll.find_one(
        {"externalMessageId": doc["externalMessageId"], "channelId": doc["channelId"]},
        {"_id": 1, "ticketId": 1},
    )
    if echo is not None and echo["_id"] != doc["_id"]:
        await coll.delete_one({"_id": echo["_id"]})
        await deps.events.publish(
            doc["orgId"], events.MESSAGE_DELETED, {"id": echo["_id"], "ticketId": echo["ticketId"]}
        )
    try:
        await coll.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def _pending_receipts(deps: Deps, jobs: list[Job]) -> None:
    for job in jobs:
        external_id = (job.message or {}).get("externalMessageId")
        if external_id and job.channel.type != ChannelType.EMAIL:
            # Receipts that outran our record of the send (e-mail has none).
            await apply_pending_statuses(deps.events, job.channel, external_id)


async def _record_resends(deps: Deps, jobs: list[Job]) -> None:
    """Messages stored unsent by an earlier version of this path, sent again now: their
    outcome is written with the "still unsent" rule in each update's filter."""
    if not jobs:
        return
    coll = Message.get_pymongo_collection()
    now = utcnow()
    publish: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        assert job.outcome is not None and job.stored is not None
        changes: dict[str, Any] = {"status": job.outcome.status.value, "updatedAt": now}
        if job.outcome.external_id:
            changes["externalMessageId"] = job.outcome.external_id
        if job.outcome.error:
            changes["error"] = job.outcome.error
        await coll.update_one(
            {"_id": job.message_id, "status": {"$in": list(UNSENT)}},
            {"$set": changes, "$inc": {"attempts": job.outcome.attempts}},
        )
        job.message = {**job.stored, **changes}
        shown = _public(job.message)
        publish.append((events.MESSAGE_UPDATED, shown))
        if job.outcome.status == DeliveryStatus.SENT:
            publish.append((events.MESSAGE_SENT, shown))
    await _publish_all(deps, jobs[0].campaign.org_id, publish)
    await _pending_receipts(deps, jobs)


async def _open_tickets(
    by_key: dict[str, list[Job]], now: datetime
) -> tuple[dict[str, Ticket], set[str]]:
    """Open ticket per conversation key, and the keys whose ticket was created here."""
    tcoll = Ticket.get_pymongo_collection()
    keys = list(by_key)
    tickets: dict[str, Ticket] = {}
    created: set[str] = set()
    for _ in range(3):  # a ticket closed between our read and our insert: read again
        missing = [k for k in keys if k not in tickets]
        if not missing:
            break
        for doc in await find_in(tcoll, "openKey", missing):
            tickets[doc["openKey"]] = Ticket.model_validate(doc)
        new = {}
        for key in missing:
            if key in tickets:
                continue
            first = by_key[key][0]
            assert first.customer is not None
            new[key] = Ticket(
                org_id=first.campaign.org_id,
                channel_id=first.channel.id,
                customer_id=first.customer.id,
                external_thread_id=first.contact,
                subject=first.campaign.name[:80],
                status=TicketStatus.PENDING,
                open_key=key,
                last_message_at=now,
                last_message_preview=by_key[key][-1].content[:200],
                last_activity_at=now,
                created_at=now,
                updated_at=now,
            )
        if not new:
            continue
        docs = [t.model_dump(by_alias=True, exclude_none=True) for t in new.values()]
        lost: set[str] = set()
        try:
            await tcoll.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            lost = {docs[i]["openKey"] for i in duplicate_positions(exc)}  # opened meanwhile
        for key, ticket in new.items():
            if key not in lost:
                tickets[key] = ticket
                created.add(key)
    missing = [k for k in keys if k not in tickets]
    if missing:
        raise RuntimeError(f"no open ticket could be found or made for {missing[:3]}")
    return tickets, created


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return public_message(Message.model_validate(doc))


async def _publish_all(deps: Deps, org_id: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    # In list order (a conversation's ticket before its message), in one round trip where
    # the publisher can (the worker's publishes a batch with one Redis pipeline).
    many = getattr(deps.events, "publish_many", None)
    if many is not None:
        await many(org_id, items)
        return
    for name, data in items:
        await deps.events.publish(org_id, name, data)


async def _settle(jobs: list[Job]) -> None:
    """Recipients follow their messages (SENT, or FAILED with the reason); each campaign's
    counters move by what the conditional updates actually changed."""
    now = utcnow()
    ops: dict[tuple[str, str], list[UpdateOne]] = defaultdict(list)
    for job in jobs:
        rid = job.recipient["_id"]
        message = job.message or {}
        changes: dict[str, Any] = {"updatedAt": now}
        if job.error is not None:
            status, changes["error"] = RecipientStatus.FAILED, job.error[:1000]
        elif message.get("status") in _SENT:
            status = RecipientStatus.SENT
            changes["sentAt"] = message.get("updatedAt") or now
        elif message.get("status") == DeliveryStatus.FAILED.value:
            status = RecipientStatus.FAILED
            reason = (message.get("error") or {}).get("message") or "send failed"
            changes["error"] = str(reason)[:1000]
        else:
            continue  # not stored, or still unsent: stays PENDING for the sweeper
        changes["status"] = status.value
        if message:
            changes["messageId"] = message["_id"]
            changes["ticketId"] = message.get("ticketId")
            links = (message.get("metadata") or {}).get("trackedLinks")
            if links:
                changes["trackedLinks"] = links
        ops[(job.campaign.id, status.value)].append(
            UpdateOne({"_id": rid, "status": RecipientStatus.PENDING.value}, {"$set": changes})
        )
    coll = CampaignRecipient.get_pymongo_collection()
    moved: dict[str, dict[str, int]] = defaultdict(dict)
    for (campaign_id, status), batch in ops.items():
        result = await coll.bulk_write(batch, ordered=False)
        field_name = "sentCount" if status == RecipientStatus.SENT.value else "failedCount"
        moved[campaign_id][field_name] = result.modified_count
    campaigns = Campaign.get_pymongo_collection()
    for campaign_id, counts in moved.items():
        await campaigns.update_one(
            {"_id": campaign_id},
            {"$inc": counts, "$max": {"progressAt": now}},
        )

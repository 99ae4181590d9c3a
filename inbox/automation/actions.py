"""What an automation rule's actions do, for one claimed execution (inbox/automation/runs.py
runs them in order with `run_action` and records each outcome).

Sends are threaded like campaign messages (the customer's open ticket on that channel, or a
new PENDING one) with message ids derived from (execution, action), so a re-run after a crash
finds its message instead of sending a second one. The others add a tag, assign the ticket
and call a webhook (signed like outbound webhooks). An outage is raised, so the execution
stays leased and runs again; any other error fails that one action only.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from pymongo import ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError

from connectors.base import ChannelType, DeliveryStatus, Direction
from inbox import events, templating
from inbox.automation import rules
from inbox.automation.documents import (
    ActionOutcome,
    ActionType,
    AutomationAction,
    AutomationExecution,
    AutomationRule,
)
from inbox.automation.template_variables import template_context
from inbox.channels.documents import Channel
from inbox.conversations import messages as message_service
from inbox.conversations import tickets as ticket_service
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.conversations.threader import public_message
from inbox.crm import sightings
from inbox.crm.customer_documents import Customer
from inbox.crm.customer_views import customer_view
from inbox.document_base import utcnow
from inbox.errors import ValidationFailed
from inbox.hooks import service as hooks_service
from inbox.ports import Deps
from inbox.queries import find_one_and_update
from inbox.records import OutboundRecord, thread_key

log = logging.getLogger(__name__)

_MESSAGE_NS = uuid.UUID("0b8f5a52-7a7e-4d8e-9a0c-5d1f0c2e7a41")
_MAX_CHARS = {ChannelType.EMAIL: 65_536, ChannelType.SMS: 1600, ChannelType.WHATSAPP: 4096}
USER_AGENT = "OmniInbox-Automation/1.0"


@dataclass
class Run:
    """One claimed execution as its actions see it."""

    deps: Deps
    marked: Deps  # deps whose publisher stamps `causedBy`
    rule: AutomationRule
    execution: AutomationExecution
    customer: Customer


async def run_action(ctx: Run, index: int, action: AutomationAction) -> ActionOutcome:
    outcome = ActionOutcome(index=index, type=action.type, status="ok")
    try:
        if action.type in rules.SEND_CHANNEL:
            return await _send(ctx, outcome, action)
        if action.type == ActionType.ADD_TAG:
            return await _add_tag(ctx, outcome, action)
        if action.type == ActionType.ASSIGN_TICKET:
            return await _assign(ctx, outcome, action)
        if action.type == ActionType.CALL_WEBHOOK:
            return await _call_webhook(ctx, outcome, action)
        return _failed(outcome, f"unknown action {action.type}")
    except (TimeoutError, ConnectionFailure, OSError):
        raise  # an outage: the execution stays leased and runs again
    except Exception as exc:  # noqa: BLE001 - one action's bug must not lose the others
        log.exception("automation %s action %d failed", ctx.rule.id, index)
        return _failed(outcome, f"{type(exc).__name__}: {exc}")


def _failed(outcome: ActionOutcome, reason: str) -> ActionOutcome:
    outcome.status, outcome.reason = "failed", reason[:1000]
    return outcome


def _skipped(outcome: ActionOutcome, reason: str) -> ActionOutcome:
    outcome.status, outcome.reason = "skipped", reason
    return outcome


# -- sends ---------------------------------------------------------------------------------


def contact_of(customer: Customer, platform: ChannelType) -> str | None:
    """The customer's address on a platform: an identity there, else their e-mail or phone."""
    for identity in customer.identities:
        if identity.platform == platform:
            return identity.external_id
    if platform == ChannelType.EMAIL:
        return customer.email
    if platform == ChannelType.SMS:
        return customer.phone
    if platform == ChannelType.WHATSAPP and customer.phone:
        return customer.phone.lstrip("+")  # a wa_id is the number's digits
    return None


_WHAT = {ChannelType.EMAIL: "e-mail address", ChannelType.SMS: "phone number"}


async def _send(ctx: Run, outcome: ActionOutcome, action: AutomationAction) -> ActionOutcome:
    org_id = ctx.execution.org_id
    channel = await Channel.find_one(Channel.id == action.channel_id, Channel.org_id == org_id)
    if channel is None or channel.deleted_at is not None or not channel.is_active:
        return _failed(outcome, "the channel is deleted or inactive")
    contact = contact_of(ctx.customer, channel.type)
    if not contact:
        what = _WHAT.get(channel.type, f"{channel.type.value} number")
        return _skipped(outcome, f"the customer has no {what}")
    outcome.recipient = contact
    message_id = str(uuid.uuid5(_MESSAGE_NS, f"{ctx.execution.id}:{outcome.index}"))
    message = await Message.find_one(Message.id == message_id)
    if message is None:
        try:
            content, metadata = _render(ctx, action, channel.type)
        except templating.TemplateRenderError as exc:
            return _failed(outcome, f"template: {exc}")
        if not content.strip():
            return _failed(outcome, "the rendered message is empty")
        limit = _MAX_CHARS.get(channel.type, 4096)
        if len(content) > limit:
            return _failed(outcome, f"the rendered message is longer than {limit} characters")
        message = await _thread(ctx, channel, contact, message_id, content, metadata)
    outcome.message_id, outcome.ticket_id = message.id, message.ticket_id
    if message.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING):
        record = OutboundRecord(
            org_id=org_id,
            message_id=message.id,
            conversation=thread_key(message.channel_id, message.external_thread_id),
        )
        await message_service.send(ctx.marked, record)
        message = await Message.find_one(Message.id == message.id) or message
    outcome.delivery_status = message.status.value
    if message.status == DeliveryStatus.FAILED:
        return _failed(outcome, str((message.error or {}).get("message") or "send failed"))
    return outcome  # SENT (or later), or still queued for the outbound sweeper


def _render(
    ctx: Run, action: AutomationAction, channel_type: ChannelType
) -> tuple[str, dict[str, Any]]:
    variables = template_context(ctx.rule, ctx.customer, ctx.execution.context)
    marker = {"automationRuleId": ctx.rule.id, "automationExecutionId": ctx.execution.id}
    if channel_type == ChannelType.EMAIL:
        # Imported here: only EMAIL sends need the HTML helpers of the EMAIL connector.
        from connectors._email_html import html_to_text

        subject = " ".join(templating.render(action.subject or "", variables).split())
        html = templating.render_html(action.template or "", variables)
        email = {"subject": subject[: rules.MAX_SUBJECT_CHARS] or ctx.rule.name, "html": html}
        return html_to_text(html), {**marker, "email": email}
    return templating.render(action.template or "", variables), marker


async def _thread(
    ctx: Run,
    channel: Channel,
    contact: str,
    message_id: str,
    content: str,
    metadata: dict[str, Any],
) -> Message:
    """Store the message QUEUED in the conversation's open ticket (or a new PENDING one),
    like a campaign send, and announce it; a re-run finds the message already there."""
    owner, _ = await sightings.for_identity(
        channel.org_id, channel.type, contact, channel.id, caches=ctx.deps.caches
    )
    ticket, created = await _open_ticket(channel, owner, contact, ctx.rule.name)
    now = utcnow()
    message = Message(
        id=message_id,
        org_id=channel.org_id,
        ticket_id=ticket.id,
        channel_id=channel.id,
        external_thread_id=contact,
        direction=Direction.OUTBOUND,
        sender_name=ctx.rule.name[:200],
        content=content,
        metadata=metadata,
        status=DeliveryStatus.QUEUED,
        timestamp=now,
    )
    try:
        await message.insert()
    except DuplicateKeyError:
        found = await Message.find_one(Message.id == message_id)
        assert found is not None
        return found
    doc = await find_one_and_update(
        Ticket.get_pymongo_collection(),
        {"_id": ticket.id},
        {
            "$set": {"lastMessagePreview": content[:200], "updatedAt": now},
            "$max": {"lastMessageAt": now, "lastActivityAt": now},
        },
        return_document=ReturnDocument.AFTER,
    )
    ticket = Ticket.model_validate(doc) if doc else ticket
    publisher = ctx.marked.events
    if created:
        await ticket_service.publish(publisher, events.TICKET_CREATED, ticket)
    await publisher.publish(channel.org_id, events.MESSAGE_CREATED, public_message(message))
    if not created:
        await ticket_service.publish(publisher, events.TICKET_UPDATED, ticket)
    return message


async def _open_ticket(
    channel: Channel, customer: Customer, contact: str, subject: str
) -> tuple[Ticket, bool]:
    key = ticket_service.open_key(channel.id, contact)
    found = await Ticket.find_one(Ticket.open_key == key)
    if found is not None:
        return found, False
    ticket = Ticket(
        org_id=channel.org_id,
        channel_id=channel.id,
        customer_id=customer.id,
        external_thread_id=contact,
        subject=subject[:80],
        status=TicketStatus.PENDING,  # waiting on the customer, like a campaign's
        open_key=key,
    )
    try:
        await ticket.insert()
    except DuplicateKeyError:
        found = await Ticket.find_one(Ticket.open_key == key)
        if found is None:  # closed in between: try again
            return await _open_ticket(channel, customer, contact, subject)
        return found, False
    return ticket, True


# -- tags, tickets, webhooks -----------------------------------------------------------------


async def _add_tag(ctx: Run, outcome: ActionOutcome, action: AutomationAction) -> ActionOutcome:
    tag = (action.tag or "").strip()
    outcome.tag = tag
    coll = Customer.get_pymongo_collection()
    doc = await find_one_and_update(
        coll,
        {"_id": ctx.customer.id, "orgId": ctx.customer.org_id, "tags": {"$ne": tag}},
        {"$addToSet": {"tags": tag}, "$set": {"updatedAt": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        outcome.reason = "the customer already had this tag"
        return outcome
    customer = Customer.model_validate(doc)
    ctx.customer = customer
    await ctx.marked.events.publish(
        customer.org_id, events.CUSTOMER_UPDATED, customer_view(customer).dump()
    )
    return outcome


async def _assign(ctx: Run, outcome: ActionOutcome, action: AutomationAction) -> ActionOutcome:
    org_id = ctx.execution.org_id
    ticket: Ticket | None = None
    event_ticket = ctx.execution.context.get("ticket")
    if isinstance(event_ticket, dict) and isinstance(event_ticket.get("id"), str):
        found = await Ticket.find_one(Ticket.id == event_ticket["id"], Ticket.org_id == org_id)
        if found is not None and found.status != TicketStatus.CLOSED:
            ticket = found
    if ticket is None:
        # The customer's tickets by the (orgId, customerId) index; open ones picked here.
        mine = await Ticket.find({"orgId": org_id, "customerId": ctx.customer.id}).to_list()
        open_ = [t for t in mine if t.status != TicketStatus.CLOSED]
        ticket = max(open_, key=lambda t: t.last_activity_at, default=None)
    if ticket is None:
        return _skipped(outcome, "the customer has no open ticket")
    outcome.ticket_id, outcome.assignee_id = ticket.id, action.assignee_id
    if ticket.assignee_id == action.assignee_id:
        outcome.reason = "the ticket was already assigned to this user"
        return outcome
    try:
        await ticket_service.assign(ctx.marked.events, org_id, ticket.id, action.assignee_id)
    except ValidationFailed:
        return _failed(outcome, "the assignee is no longer an active user of this organisation")
    return outcome


async def _call_webhook(
    ctx: Run, outcome: ActionOutcome, action: AutomationAction
) -> ActionOutcome:
    """POST the execution as JSON, signed like outbound webhooks (X-Signature-256 over the
    exact body with the rule's signing secret); the same id on a re-run, for deduplication."""
    url = action.url or ""
    body = json.dumps(
        {
            "id": ctx.execution.id,
            "event": events.AUTOMATION_TRIGGERED,
            "timestamp": utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "orgId": ctx.execution.org_id,
            "rule": {"id": ctx.rule.id, "name": ctx.rule.name},
            "trigger": {
                "type": ctx.execution.trigger_type.value,
                "event": ctx.execution.event,
                "eventId": ctx.execution.event_id,
            },
            "customer": customer_view(ctx.customer).dump(),
            "data": ctx.execution.context,
        },
        separators=(",", ":"),
        default=str,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Signature-256": hooks_service.sign(ctx.rule.signing_secret, body),
        "X-Webhook-Timestamp": str(int(time.time())),
        "X-Webhook-Event": events.AUTOMATION_TRIGGERED,
        "X-Webhook-Id": ctx.execution.id,
    }
    timeout = aiohttp.ClientTimeout(total=ctx.deps.settings.automation_webhook_timeout_seconds)
    try:
        async with ctx.deps.http.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as resp:
            outcome.status_code = resp.status
            await resp.content.read(64 * 1024)
    except TimeoutError:
        return _failed(
            outcome,
            f"no answer within {ctx.deps.settings.automation_webhook_timeout_seconds:g} s",
        )
    except (aiohttp.ClientError, ValueError) as exc:
        return _failed(outcome, f"{type(exc).__name__}: {exc}")
    if not 200 <= (outcome.status_code or 0) < 300:
        return _failed(outcome, f"HTTP {outcome.status_code}")
    return outcome

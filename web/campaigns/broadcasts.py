"""The sales document's e-mail marketing and messaging paths, under /orgs/{orgId}:

    /emails/campaigns   /emails/campaigns/stats   /emails/campaigns/{id}[/send]
    /emails/templates[/{id}]
    /messages   /messages/stats   /messages/send   /messages/templates[/{id}]

Views over the same campaigns and templates as /campaigns (inbox/services/sales_messaging.py).
Anyone in the org reads; sending and template writes are for ADMINs and audit-logged."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.campaigns import broadcasts as service
from inbox.campaigns import message_templates as template_service
from inbox.campaigns.broadcast_views import (
    CampaignSendView,
    EmailCampaignCreatedView,
    EmailCampaignStatsView,
    EmailCampaignView,
    EmailTemplateView,
    MessageStatsView,
    TextMessageSentView,
    TextMessageView,
    TextTemplateView,
    email_template_view,
    text_template_view,
)
from inbox.campaigns.template_documents import TemplateChannel
from web import keys
from web.auth import authenticated, current_user
from web.campaigns.broadcast_schemas import (
    EmailCampaignBody,
    EmailCampaignQuery,
    EmailTemplateBody,
    EmailTemplateUpdateBody,
    MessageQuery,
    SendMessageBody,
    TextTemplateBody,
    TextTemplateQuery,
    TextTemplateUpdateBody,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query
from web.schemas import Ok

OPERATION_PREFIX = "messaging"  # operation ids in /openapi.json

_EMAIL_TAGS = ["emails"]
_MESSAGE_TAGS = ["messages"]
_EMAIL = (TemplateChannel.EMAIL,)
_TEXT = (TemplateChannel.SMS, TemplateChannel.WHATSAPP)
_AUDIENCE = (
    " `recipientType`: all, with_orders, without_orders, vip (customers tagged VIP in any "
    "case), custom (with `recipientIds`, customer ids); or `segmentId`. Only active customers "
    "receive it; those without an address on the channel's platform are counted in "
    "`skippedCount`. Without `channelId` the org's only channel of the kind is used (400 "
    "when it has none or several)."
)


# -- e-mail campaigns ----------------------------------------------------------------------------


@spec(
    "List e-mail campaigns",
    description="Campaigns on the org's EMAIL channels, newest first; `status` filters "
    "(draft, scheduled, sending, sent). Rates are percentages of sent.",
    tags=_EMAIL_TAGS,
    query=EmailCampaignQuery,
    response=EmailCampaignView,
    list_response=True,
)
@authenticated()
async def list_email_campaigns(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, EmailCampaignQuery)
    found, total = await service.list_email_campaigns(
        current_user(request).org_id, q.status, page.skip, page.limit
    )
    return paged_response(request, [v.dump() for v in found], total, page)


@spec(
    "E-mail campaign totals",
    description="Campaigns, sent, opened and clicked; average open and click rates of the "
    "campaigns that sent something (%).",
    tags=_EMAIL_TAGS,
    response=EmailCampaignStatsView,
)
@authenticated()
async def email_stats(request: web.Request) -> web.Response:
    return web.json_response((await service.email_stats(current_user(request).org_id)).dump())


@spec(
    "Create an e-mail campaign (ADMIN)",
    description="A DRAFT campaign on an EMAIL channel (SCHEDULED with `scheduleAt`: the "
    "worker sends it then). `subject` and `body` are templates checked now (400 naming an "
    "undefined variable); `templateId` copies an e-mail template's." + _AUDIENCE,
    tags=_EMAIL_TAGS,
    body=EmailCampaignBody,
    response=EmailCampaignCreatedView,
    status=201,
)
@authenticated(Role.ADMIN)
async def create_email_campaign(request: web.Request) -> web.Response:
    body = await json_body(request, EmailCampaignBody)
    created = await service.create_email_campaign(
        request.app[keys.DEPS],
        current_user(request),
        name=body.name,
        subject=body.subject,
        body=body.body,
        template_type=body.template_type,
        template_id=body.template_id,
        recipient_type=body.recipient_type,
        recipient_ids=body.recipient_ids,
        segment_id=body.segment_id,
        schedule_at=body.schedule_at,
        channel_id=body.channel_id,
    )
    return web.json_response(created.dump(), status=201)


@spec("Get an e-mail campaign", tags=_EMAIL_TAGS, response=EmailCampaignView)
@authenticated()
async def get_email_campaign(request: web.Request) -> web.Response:
    campaign = await service.get_email_campaign(
        current_user(request).org_id, request.match_info["campaignId"]
    )
    return web.json_response(service.email_view(campaign).dump())


@spec(
    "Send an e-mail campaign now (ADMIN)",
    description="Starts it (a scheduled one too): the worker resolves the audience and sends, "
    "so the answer says `sending`; watch `sentCount` on the campaign or the `campaign.*` "
    "events. 409 CAMPAIGN_ALREADY_STARTED once started; 400 NO_RECIPIENTS without an "
    "audience or recipients.",
    tags=_EMAIL_TAGS,
    response=CampaignSendView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def send_email_campaign(request: web.Request) -> web.Response:
    result = await service.send_email_campaign(
        request.app[keys.DEPS], current_user(request), request.match_info["campaignId"]
    )
    return web.json_response(result.dump())


# -- e-mail templates ----------------------------------------------------------------------------


@spec(
    "List e-mail templates",
    description="Newest first; `variables` lists what each reads.",
    tags=_EMAIL_TAGS,
    response=EmailTemplateView,
    list_response=True,
)
@authenticated()
async def list_email_templates(request: web.Request) -> web.Response:
    page = page_of(request)
    found, total = await template_service.list_templates(
        current_user(request).org_id, _EMAIL, page.skip, page.limit
    )
    return paged_response(request, [email_template_view(t).dump() for t in found], total, page)


@spec(
    "Create an e-mail template (ADMIN)",
    description="`subject` and `body` are checked like campaigns' (400 naming the field); "
    "names are unique among the org's e-mail templates (409 TEMPLATE_NAME_TAKEN).",
    tags=_EMAIL_TAGS,
    body=EmailTemplateBody,
    response=EmailTemplateView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def create_email_template(request: web.Request) -> web.Response:
    body = await json_body(request, EmailTemplateBody)
    template = await template_service.create(
        current_user(request),
        channel=TemplateChannel.EMAIL,
        name=body.name,
        subject=body.subject,
        body=body.body,
        category=body.type,
    )
    return web.json_response(email_template_view(template).dump(), status=201)


@spec(
    "Update an e-mail template (ADMIN)",
    description="Only the fields given change; campaigns made from it keep their copy.",
    tags=_EMAIL_TAGS,
    body=EmailTemplateUpdateBody,
    response=EmailTemplateView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def update_email_template(request: web.Request) -> web.Response:
    body = await json_body(request, EmailTemplateUpdateBody)
    given = body.model_fields_set
    template = await template_service.update(
        current_user(request),
        request.match_info["templateId"],
        _EMAIL,
        name=body.name,
        body=body.body,
        **({"subject": body.subject} if body.subject is not None else {}),
        **({"category": body.type} if "type" in given else {}),
    )
    return web.json_response(email_template_view(template).dump())


@spec("Delete an e-mail template (ADMIN)", tags=_EMAIL_TAGS, response=Ok)
@authenticated(Role.ADMIN)
async def delete_email_template(request: web.Request) -> web.Response:
    await template_service.delete(current_user(request), request.match_info["templateId"], _EMAIL)
    return web.json_response(Ok(message="Template deleted").model_dump())


# -- SMS / WhatsApp messages ---------------------------------------------------------------------


@spec(
    "List SMS and WhatsApp messages sent (or scheduled)",
    description="Campaigns on the org's SMS and WHATSAPP channels, newest first; `type` and "
    "`status` filter. `deliveredCount` comes from the platforms' status webhooks.",
    tags=_MESSAGE_TAGS,
    query=MessageQuery,
    response=TextMessageView,
    list_response=True,
)
@authenticated()
async def list_messages(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, MessageQuery)
    found, total = await service.list_messages(
        current_user(request).org_id, q.type, q.status, page.skip, page.limit
    )
    return paged_response(request, [v.dump() for v in found], total, page)


@spec(
    "SMS and WhatsApp totals",
    description="Sent per type, and the average delivery rate of the messages that sent "
    "something (%).",
    tags=_MESSAGE_TAGS,
    response=MessageStatsView,
)
@authenticated()
async def message_stats(request: web.Request) -> web.Response:
    result = await service.message_stats(current_user(request).org_id)
    return web.json_response(result.dump())


@spec(
    "Send an SMS, WhatsApp or e-mail message (ADMIN)",
    description="To one customer (`recipientType: custom`, `recipientIds: [id]`), to contacts "
    "(`contacts`: numbers or addresses, customers or not) or to an audience; sent now by the "
    "worker like a campaign (threaded into each customer's conversation), or at `scheduleAt`. "
    "`content` is a template checked now; `templateId` gives it instead." + _AUDIENCE,
    tags=_MESSAGE_TAGS,
    body=SendMessageBody,
    response=TextMessageSentView,
    status=201,
)
@authenticated(Role.ADMIN)
async def send_message(request: web.Request) -> web.Response:
    body = await json_body(request, SendMessageBody)
    sent = await service.send_message(
        request.app[keys.DEPS],
        current_user(request),
        kind=body.type,
        content=body.content,
        subject=body.subject,
        name=body.name,
        template_id=body.template_id,
        recipient_type=body.recipient_type,
        recipient_ids=body.recipient_ids,
        segment_id=body.segment_id,
        contacts=body.contacts,
        schedule_at=body.schedule_at,
        channel_id=body.channel_id,
    )
    return web.json_response(sent.dump(), status=201)


# -- SMS / WhatsApp templates --------------------------------------------------------------------


@spec(
    "List SMS and WhatsApp templates",
    description="Newest first; `type` filters.",
    tags=_MESSAGE_TAGS,
    query=TextTemplateQuery,
    response=TextTemplateView,
    list_response=True,
)
@authenticated()
async def list_message_templates(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, TextTemplateQuery)
    channels = (TemplateChannel(q.type),) if q.type else _TEXT
    found, total = await template_service.list_templates(
        current_user(request).org_id, channels, page.skip, page.limit
    )
    return paged_response(request, [text_template_view(t).dump() for t in found], total, page)


@spec(
    "Create an SMS or WhatsApp template (ADMIN)",
    description="`content` is checked like campaigns' (400 naming it); names are unique per "
    "org and type (409 TEMPLATE_NAME_TAKEN).",
    tags=_MESSAGE_TAGS,
    body=TextTemplateBody,
    response=TextTemplateView,
    status=201,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def create_message_template(request: web.Request) -> web.Response:
    body = await json_body(request, TextTemplateBody)
    template = await template_service.create(
        current_user(request),
        channel=TemplateChannel(body.type),
        name=body.name,
        body=body.content,
        category=body.category,
        body_field="content",
    )
    return web.json_response(text_template_view(template).dump(), status=201)


@spec(
    "Update an SMS or WhatsApp template (ADMIN)",
    description="Only the fields given change.",
    tags=_MESSAGE_TAGS,
    body=TextTemplateUpdateBody,
    response=TextTemplateView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def update_message_template(request: web.Request) -> web.Response:
    body = await json_body(request, TextTemplateUpdateBody)
    template = await template_service.update(
        current_user(request),
        request.match_info["templateId"],
        _TEXT,
        name=body.name,
        body=body.content,
        body_field="content",
        **({"category": body.category} if "category" in body.model_fields_set else {}),
    )
    return web.json_response(text_template_view(template).dump())


@spec("Delete an SMS or WhatsApp template (ADMIN)", tags=_MESSAGE_TAGS, response=Ok)
@authenticated(Role.ADMIN)
async def delete_message_template(request: web.Request) -> web.Response:
    await template_service.delete(current_user(request), request.match_info["templateId"], _TEXT)
    return web.json_response(Ok(message="Template deleted").model_dump())

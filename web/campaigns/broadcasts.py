"""The sales document's e-mail marketing and messaging paths, under /orgs/{orgId}:

    /emails/campaigns   /emails/campaigns/stats   /emails/campaigns/{id}[/send]
    /emails/templates[/{id}]
    /messages   /messages/stats   /messages/send   /messages/templates[/{id}]

Views over the same campaigns and templates as /campaigns (inbox/campaigns/broadcasts.py).
Anyone in the org reads; sending and template writes are for ADMINs and audit-logged."""

from __future__ import annotations

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
)
from inbox.campaigns.template_documents import TemplateChannel
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
from web.endpoints import Call, Paged, Routes
from web.schemas import Ok

routes = Routes("messaging")

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


@routes.get(
    "/orgs/{orgId}/emails/campaigns",
    "List e-mail campaigns",
    description="Campaigns on the org's EMAIL channels, newest first; `status` filters "
    "(draft, scheduled, sending, sent). Rates are percentages of sent.",
    tags=_EMAIL_TAGS,
    query=EmailCampaignQuery,
    response=EmailCampaignView,
    list_response=True,
)
async def list_email_campaigns(call: Call[None, EmailCampaignQuery]) -> Paged:
    found, total = await service.list_email_campaigns(
        call.org_id, call.query.status, call.page.skip, call.page.limit
    )
    return Paged(found, total)


@routes.post(
    "/orgs/{orgId}/emails/campaigns",
    "Create an e-mail campaign (ADMIN)",
    description="A DRAFT campaign on an EMAIL channel (SCHEDULED with `scheduleAt`: the "
    "worker sends it then). `subject` and `body` are templates checked now (400 naming an "
    "undefined variable); `templateId` copies an e-mail template's." + _AUDIENCE,
    tags=_EMAIL_TAGS,
    body=EmailCampaignBody,
    response=EmailCampaignCreatedView,
    status=201,
    role=Role.ADMIN,
)
async def create_email_campaign(call: Call[EmailCampaignBody, None]) -> EmailCampaignCreatedView:
    body = call.body
    return await service.create_email_campaign(
        call.deps,
        call.user,
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


@routes.get(
    "/orgs/{orgId}/emails/campaigns/stats",
    "E-mail campaign totals",
    description="Campaigns, sent, opened and clicked; average open and click rates of the "
    "campaigns that sent something (%).",
    tags=_EMAIL_TAGS,
    response=EmailCampaignStatsView,
)
async def email_stats(call: Call[None, None]) -> EmailCampaignStatsView:
    return await service.email_stats(call.org_id)


@routes.get(
    "/orgs/{orgId}/emails/campaigns/{campaignId}",
    "Get an e-mail campaign",
    tags=_EMAIL_TAGS,
    response=EmailCampaignView,
)
async def get_email_campaign(call: Call[None, None]) -> EmailCampaignView:
    return await service.email_campaign_detail(call.org_id, call.path("campaignId"))


@routes.post(
    "/orgs/{orgId}/emails/campaigns/{campaignId}/send",
    "Send an e-mail campaign now (ADMIN)",
    description="Starts it (a scheduled one too): the worker resolves the audience and sends, "
    "so the answer says `sending`; watch `sentCount` on the campaign or the `campaign.*` "
    "events. 409 CAMPAIGN_ALREADY_STARTED once started; 400 NO_RECIPIENTS without an "
    "audience or recipients.",
    tags=_EMAIL_TAGS,
    response=CampaignSendView,
    errors=[409],
    role=Role.ADMIN,
)
async def send_email_campaign(call: Call[None, None]) -> CampaignSendView:
    return await service.send_email_campaign(call.deps, call.user, call.path("campaignId"))


# -- e-mail templates ----------------------------------------------------------------------------


@routes.get(
    "/orgs/{orgId}/emails/templates",
    "List e-mail templates",
    description="Newest first; `variables` lists what each reads.",
    tags=_EMAIL_TAGS,
    response=EmailTemplateView,
    list_response=True,
)
async def list_email_templates(call: Call[None, None]) -> Paged:
    return Paged(
        *await template_service.list_templates(call.org_id, _EMAIL, call.page.skip, call.page.limit)
    )


@routes.post(
    "/orgs/{orgId}/emails/templates",
    "Create an e-mail template (ADMIN)",
    description="`subject` and `body` are checked like campaigns' (400 naming the field); "
    "names are unique among the org's e-mail templates (409 TEMPLATE_NAME_TAKEN).",
    tags=_EMAIL_TAGS,
    body=EmailTemplateBody,
    response=EmailTemplateView,
    status=201,
    errors=[409],
    role=Role.ADMIN,
)
async def create_email_template(call: Call[EmailTemplateBody, None]) -> EmailTemplateView:
    body = call.body
    return await template_service.create(
        call.user,
        channel=TemplateChannel.EMAIL,
        name=body.name,
        subject=body.subject,
        body=body.body,
        category=body.type,
    )


@routes.put(
    "/orgs/{orgId}/emails/templates/{templateId}",
    "Update an e-mail template (ADMIN)",
    description="Only the fields given change; campaigns made from it keep their copy.",
    tags=_EMAIL_TAGS,
    body=EmailTemplateUpdateBody,
    response=EmailTemplateView,
    errors=[409],
    role=Role.ADMIN,
)
async def update_email_template(call: Call[EmailTemplateUpdateBody, None]) -> EmailTemplateView:
    body = call.body
    given = body.model_fields_set
    return await template_service.update(
        call.user,
        call.path("templateId"),
        _EMAIL,
        name=body.name,
        body=body.body,
        **({"subject": body.subject} if body.subject is not None else {}),
        **({"category": body.type} if "type" in given else {}),
    )


@routes.delete(
    "/orgs/{orgId}/emails/templates/{templateId}",
    "Delete an e-mail template (ADMIN)",
    tags=_EMAIL_TAGS,
    response=Ok,
    role=Role.ADMIN,
)
async def delete_email_template(call: Call[None, None]) -> Ok:
    await template_service.delete(call.user, call.path("templateId"), _EMAIL)
    return Ok(message="Template deleted")


# -- SMS / WhatsApp messages ---------------------------------------------------------------------


@routes.get(
    "/orgs/{orgId}/messages",
    "List SMS and WhatsApp messages sent (or scheduled)",
    description="Campaigns on the org's SMS and WHATSAPP channels, newest first; `type` and "
    "`status` filter. `deliveredCount` comes from the platforms' status webhooks.",
    tags=_MESSAGE_TAGS,
    query=MessageQuery,
    response=TextMessageView,
    list_response=True,
)
async def list_messages(call: Call[None, MessageQuery]) -> Paged:
    found, total = await service.list_messages(
        call.org_id, call.query.type, call.query.status, call.page.skip, call.page.limit
    )
    return Paged(found, total)


@routes.get(
    "/orgs/{orgId}/messages/stats",
    "SMS and WhatsApp totals",
    description="Sent per type, and the average delivery rate of the messages that sent "
    "something (%).",
    tags=_MESSAGE_TAGS,
    response=MessageStatsView,
)
async def message_stats(call: Call[None, None]) -> MessageStatsView:
    return await service.message_stats(call.org_id)


@routes.post(
    "/orgs/{orgId}/messages/send",
    "Send an SMS, WhatsApp or e-mail message (ADMIN)",
    description="To one customer (`recipientType: custom`, `recipientIds: [id]`), to contacts "
    "(`contacts`: numbers or addresses, customers or not) or to an audience; sent now by the "
    "worker like a campaign (threaded into each customer's conversation), or at `scheduleAt`. "
    "`content` is a template checked now; `templateId` gives it instead." + _AUDIENCE,
    tags=_MESSAGE_TAGS,
    body=SendMessageBody,
    response=TextMessageSentView,
    status=201,
    role=Role.ADMIN,
)
async def send_message(call: Call[SendMessageBody, None]) -> TextMessageSentView:
    body = call.body
    return await service.send_message(
        call.deps,
        call.user,
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


# -- SMS / WhatsApp templates --------------------------------------------------------------------


@routes.get(
    "/orgs/{orgId}/messages/templates",
    "List SMS and WhatsApp templates",
    description="Newest first; `type` filters.",
    tags=_MESSAGE_TAGS,
    query=TextTemplateQuery,
    response=TextTemplateView,
    list_response=True,
)
async def list_message_templates(call: Call[None, TextTemplateQuery]) -> Paged:
    channels = (TemplateChannel(call.query.type),) if call.query.type else _TEXT
    return Paged(
        *await template_service.list_templates(
            call.org_id, channels, call.page.skip, call.page.limit
        )
    )


@routes.post(
    "/orgs/{orgId}/messages/templates",
    "Create an SMS or WhatsApp template (ADMIN)",
    description="`content` is checked like campaigns' (400 naming it); names are unique per "
    "org and type (409 TEMPLATE_NAME_TAKEN).",
    tags=_MESSAGE_TAGS,
    body=TextTemplateBody,
    response=TextTemplateView,
    status=201,
    errors=[409],
    role=Role.ADMIN,
)
async def create_message_template(call: Call[TextTemplateBody, None]) -> TextTemplateView:
    body = call.body
    return await template_service.create(
        call.user,
        channel=TemplateChannel(body.type),
        name=body.name,
        body=body.content,
        category=body.category,
        body_field="content",
    )


@routes.put(
    "/orgs/{orgId}/messages/templates/{templateId}",
    "Update an SMS or WhatsApp template (ADMIN)",
    description="Only the fields given change.",
    tags=_MESSAGE_TAGS,
    body=TextTemplateUpdateBody,
    response=TextTemplateView,
    errors=[409],
    role=Role.ADMIN,
)
async def update_message_template(call: Call[TextTemplateUpdateBody, None]) -> TextTemplateView:
    body = call.body
    return await template_service.update(
        call.user,
        call.path("templateId"),
        _TEXT,
        name=body.name,
        body=body.content,
        body_field="content",
        **({"category": body.category} if "category" in body.model_fields_set else {}),
    )


@routes.delete(
    "/orgs/{orgId}/messages/templates/{templateId}",
    "Delete an SMS or WhatsApp template (ADMIN)",
    tags=_MESSAGE_TAGS,
    response=Ok,
    role=Role.ADMIN,
)
async def delete_message_template(call: Call[None, None]) -> Ok:
    await template_service.delete(call.user, call.path("templateId"), _TEXT)
    return Ok(message="Template deleted")

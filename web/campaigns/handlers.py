"""/orgs/{orgId}/campaigns: bulk outbound messages (writes are ADMIN only)."""

from __future__ import annotations

from inbox.accounts.documents import Role
from inbox.campaigns import launch as campaign_launch
from inbox.campaigns import service as campaign_service
from inbox.campaigns.views import (
    CampaignRecipientView,
    CampaignStatsView,
    CampaignView,
    RecipientsAddedView,
)
from web.campaigns.schemas import (
    AudienceFields,
    CampaignCreateBody,
    CampaignQuery,
    RecipientQuery,
    RecipientsBody,
)
from web.endpoints import Call, Paged, Routes

routes = Routes("campaigns")

_TAGS = ["campaigns"]


@routes.get(
    "/orgs/{orgId}/campaigns",
    "List campaigns",
    description="Newest first; `status` filters.",
    tags=_TAGS,
    query=CampaignQuery,
    response=CampaignView,
    list_response=True,
)
async def list_campaigns(call: Call[None, CampaignQuery]) -> Paged:
    found, total = await campaign_service.list_campaigns(
        call.org_id, call.page.skip, call.page.limit, status=call.query.status
    )
    return Paged(found, total)


@routes.post(
    "/orgs/{orgId}/campaigns",
    "Create a campaign",
    description="The template is checked now: an unknown variable is a 400 naming it. With a "
    "future `scheduledAt` the campaign is SCHEDULED and the worker starts it then; otherwise "
    "it is a DRAFT until started. On an EMAIL channel `messageTemplate` is the HTML body and "
    "`subject` is required; opens and clicks are tracked. The audience (`segmentId` or "
    "`recipientType`, 400 when both) is resolved into recipients when the campaign starts; "
    "contacts may also be added by hand. `templateId` copies a message template's subject "
    "and body.",
    tags=_TAGS,
    body=CampaignCreateBody,
    response=CampaignView,
    status=201,
    role=Role.ADMIN,
)
async def create(call: Call[CampaignCreateBody, None]) -> CampaignView:
    body = call.body
    return await campaign_service.created(
        call.user,
        channel_id=body.channel_id,
        name=body.name,
        message_template=body.message_template,
        scheduled_at=body.scheduled_at,
        subject=body.subject,
        segment_id=body.segment_id,
        recipient_type=body.recipient_type,
        recipient_ids=body.recipient_ids,
        template_id=body.template_id,
        template_type=body.template_type,
        publisher=call.deps.events,
    )


@routes.get(
    "/orgs/{orgId}/campaigns/{campaignId}", "Get a campaign", tags=_TAGS, response=CampaignView
)
async def get(call: Call[None, None]) -> CampaignView:
    return await campaign_service.detail(call.org_id, call.path("campaignId"))


@routes.post(
    "/orgs/{orgId}/campaigns/{campaignId}/recipients",
    "Add recipients",
    description="Invalid contacts are listed in `invalid` with the reason; contacts already "
    "in the campaign or repeated in the request are counted in `duplicates`. 400 when no "
    "contact is valid; 409 once the campaign is SENDING or COMPLETED.",
    tags=_TAGS,
    body=RecipientsBody,
    response=RecipientsAddedView,
    errors=[409],
    role=Role.ADMIN,
)
async def add_recipients(call: Call[RecipientsBody, None]) -> RecipientsAddedView:
    return await campaign_service.add_recipients(
        call.deps, call.user, call.path("campaignId"), call.body.recipients
    )


@routes.get(
    "/orgs/{orgId}/campaigns/{campaignId}/recipients",
    "List a campaign's recipients",
    description="In the order they were added; `status` filters.",
    tags=_TAGS,
    query=RecipientQuery,
    response=CampaignRecipientView,
    list_response=True,
)
async def list_recipients(call: Call[None, RecipientQuery]) -> Paged:
    found, total = await campaign_service.list_recipients(
        call.org_id,
        call.path("campaignId"),
        call.page.skip,
        call.page.limit,
        status=call.query.status,
    )
    return Paged(found, total)


@routes.post(
    "/orgs/{orgId}/campaigns/{campaignId}/start",
    "Start a campaign",
    description="DRAFT or SCHEDULED -> SENDING, once: starting again answers 409 "
    "CAMPAIGN_ALREADY_STARTED and sends nothing twice. A worker turns the audience into "
    "recipients (never twice the same contact) and sends to every recipient, paced per "
    "channel, then marks it COMPLETED. 400 NO_RECIPIENTS without recipients or audience.",
    tags=_TAGS,
    response=CampaignView,
    errors=[409],
    role=Role.ADMIN,
)
async def start(call: Call[None, None]) -> CampaignView:
    return await campaign_launch.started(call.deps, call.user, call.path("campaignId"))


@routes.get(
    "/orgs/{orgId}/campaigns/{campaignId}/stats",
    "A campaign's progress",
    tags=_TAGS,
    response=CampaignStatsView,
)
async def stats(call: Call[None, None]) -> CampaignStatsView:
    return await campaign_service.stats(call.org_id, call.path("campaignId"))


@routes.put(
    "/orgs/{orgId}/campaigns/{campaignId}/audience",
    "Set a campaign's audience (ADMIN)",
    description="Replaces the audience of a DRAFT or SCHEDULED campaign: `segmentId` or "
    "`recipientType` (with `recipientIds` for custom); neither removes it, leaving the "
    "contacts added by hand. 409 once the campaign is SENDING or COMPLETED.",
    tags=_TAGS,
    body=AudienceFields,
    response=CampaignView,
    errors=[409],
    role=Role.ADMIN,
)
async def set_audience(call: Call[AudienceFields, None]) -> CampaignView:
    return await campaign_service.set_audience(
        call.user,
        call.path("campaignId"),
        segment_id=call.body.segment_id,
        recipient_type=call.body.recipient_type,
        recipient_ids=call.body.recipient_ids,
    )

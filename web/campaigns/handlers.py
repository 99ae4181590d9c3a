"""/orgs/{orgId}/campaigns: bulk outbound messages (writes are ADMIN only)."""

from __future__ import annotations

from aiohttp import web

from inbox.accounts.documents import Role
from inbox.campaigns import service as campaign_service
from inbox.campaigns.views import (
    CampaignRecipientView,
    CampaignStatsView,
    CampaignView,
    RecipientsAddedView,
)
from web import keys
from web.auth import authenticated, current_user
from web.campaigns.schemas import (
    AudienceFields,
    CampaignCreateBody,
    CampaignQuery,
    RecipientQuery,
    RecipientsBody,
)
from web.openapi import spec
from web.pagination import page_of, paged_response
from web.parsing import json_body, query

OPERATION_PREFIX = "campaigns"  # operation ids in /openapi.json

_TAGS = ["campaigns"]


@spec(
    "List campaigns",
    description="Newest first; `status` filters.",
    tags=_TAGS,
    query=CampaignQuery,
    response=CampaignView,
    list_response=True,
)
@authenticated()
async def list_campaigns(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, CampaignQuery)
    found, total = await campaign_service.list_campaigns(
        current_user(request).org_id, page.skip, page.limit, status=q.status
    )
    return paged_response(request, [v.dump() for v in found], total, page)


@spec("Get a campaign", tags=_TAGS, response=CampaignView)
@authenticated()
async def get(request: web.Request) -> web.Response:
    campaign = await campaign_service.get(
        current_user(request).org_id, request.match_info["campaignId"]
    )
    return web.json_response((await campaign_service.view(campaign)).dump())


@spec(
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
)
@authenticated(Role.ADMIN)
async def create(request: web.Request) -> web.Response:
    body = await json_body(request, CampaignCreateBody)
    campaign = await campaign_service.create(
        current_user(request),
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
        publisher=request.app[keys.DEPS].events,
    )
    return web.json_response((await campaign_service.view(campaign)).dump(), status=201)


@spec(
    "Set a campaign's audience (ADMIN)",
    description="Replaces the audience of a DRAFT or SCHEDULED campaign: `segmentId` or "
    "`recipientType` (with `recipientIds` for custom); neither removes it, leaving the "
    "contacts added by hand. 409 once the campaign is SENDING or COMPLETED.",
    tags=_TAGS,
    body=AudienceFields,
    response=CampaignView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def set_audience(request: web.Request) -> web.Response:
    body = await json_body(request, AudienceFields)
    campaign = await campaign_service.set_audience(
        current_user(request),
        request.match_info["campaignId"],
        segment_id=body.segment_id,
        recipient_type=body.recipient_type,
        recipient_ids=body.recipient_ids,
    )
    return web.json_response((await campaign_service.view(campaign)).dump())


@spec(
    "Add recipients",
    description="Invalid contacts are listed in `invalid` with the reason; contacts already "
    "in the campaign or repeated in the request are counted in `duplicates`. 400 when no "
    "contact is valid; 409 once the campaign is SENDING or COMPLETED.",
    tags=_TAGS,
    body=RecipientsBody,
    response=RecipientsAddedView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def add_recipients(request: web.Request) -> web.Response:
    body = await json_body(request, RecipientsBody)
    result = await campaign_service.add_recipients(
        request.app[keys.DEPS],
        current_user(request),
        request.match_info["campaignId"],
        body.recipients,
    )
    return web.json_response(result.dump())


@spec(
    "Start a campaign",
    description="DRAFT or SCHEDULED -> SENDING, once: starting again answers 409 "
    "CAMPAIGN_ALREADY_STARTED and sends nothing twice. A worker turns the audience into "
    "recipients (never twice the same contact) and sends to every recipient, paced per "
    "channel, then marks it COMPLETED. 400 NO_RECIPIENTS without recipients or audience.",
    tags=_TAGS,
    response=CampaignView,
    errors=[409],
)
@authenticated(Role.ADMIN)
async def start(request: web.Request) -> web.Response:
    campaign = await campaign_service.start(
        request.app[keys.DEPS], current_user(request), request.match_info["campaignId"]
    )
    return web.json_response((await campaign_service.view(campaign)).dump())


@spec(
    "List a campaign's recipients",
    description="In the order they were added; `status` filters.",
    tags=_TAGS,
    query=RecipientQuery,
    response=CampaignRecipientView,
    list_response=True,
)
@authenticated()
async def list_recipients(request: web.Request) -> web.Response:
    page = page_of(request)
    q = query(request, RecipientQuery)
    found, total = await campaign_service.list_recipients(
        current_user(request).org_id,
        request.match_info["campaignId"],
        page.skip,
        page.limit,
        status=q.status,
    )
    return paged_response(request, [v.dump() for v in found], total, page)


@spec("A campaign's progress", tags=_TAGS, response=CampaignStatsView)
@authenticated()
async def stats(request: web.Request) -> web.Response:
    result = await campaign_service.stats(
        current_user(request).org_id, request.match_info["campaignId"]
    )
    return web.json_response(result.dump())

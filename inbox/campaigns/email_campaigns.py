"""Campaign e-mails and their tracking; the subject of agents' e-mail replies.

Rendering (worker, per recipient, inbox/campaigns/sending.py): the campaign's
`subject` and HTML `messageTemplate` are rendered for the customer (the HTML one with
customers' values escaped). Every http(s) link of the body (printable ASCII, at most 2,048
characters) is rewritten to `{PUBLIC_URL}/t/c/{token}?u=<link>` and a 1x1 pixel
`{PUBLIC_URL}/t/o/{token}.gif` is appended. The token is the recipient's own, random
(`secrets.token_urlsafe`, 192 bits), and the links the e-mail contained are stored with it:
a click redirects only to one of them, so the endpoint is never an open redirect. The
message's text is the plain-text alternative (links kept as "text (url)").

Tracking (web, public): the first open and the first click of a recipient are stamped on it
with one conditional update each, and only that update increments the campaign's
`openedCount` / `clickedCount`, so repeats and concurrent requests count once. A click
counts as an open too when no open was seen (the pixel is often blocked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from connectors._email_html import (
    append_before_body_end,
    html_to_text,
    links_in,
    rewrite_links,
)
from connectors.base import ChannelType
from inbox import templating
from inbox.campaigns.documents import Campaign, CampaignRecipient
from inbox.config import Settings
from inbox.conversations.documents import Ticket
from inbox.document_base import utcnow
from inbox.errors import ValidationFailed

MAX_SUBJECT_CHARS = 250
MAX_TEMPLATE_CHARS = 4096
"""Longest template of a text campaign; an EMAIL campaign's HTML may be longer (up to the
request limit), its rendering capped by `templating.MAX_OUTPUT_CHARS`."""
TOKEN_BYTES = 24
MAX_TRACKED_LINK_CHARS = 2048
"""Longer links, and links with spaces or non-ASCII characters, are left untracked: their
click URL could pass the 8 KiB request line servers accept."""
_TRACKABLE = re.compile(rf"[!-~]{{1,{MAX_TRACKED_LINK_CHARS}}}")
# The classic transparent 1x1 GIF (43 bytes).
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


# -- campaign creation -------------------------------------------------------------------------


def checked_subject(
    channel_type: ChannelType, subject: str | None, message_template: str
) -> str | None:
    """The subject to store for a new campaign on this channel type (400 when unusable).

    EMAIL campaigns need a subject, a template like the body; other types have none. Only
    EMAIL bodies (HTML) may be longer than MAX_TEMPLATE_CHARS."""
    if channel_type != ChannelType.EMAIL:
        if len(message_template) > MAX_TEMPLATE_CHARS:
            raise ValidationFailed(
                "Message template too long",
                details={
                    "messageTemplate": f"at most {MAX_TEMPLATE_CHARS} characters "
                    "(longer HTML bodies are for EMAIL campaigns)"
                },
            )
        return None
    if subject is None or not subject.strip():
        raise ValidationFailed(
            "An EMAIL campaign needs a subject",
            details={"subject": "required for EMAIL campaigns"},
        )
    templating.validate_field(subject, templating.CUSTOMER_VARIABLES, field="subject")
    return subject.strip()


# -- rendering (worker) --------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    content: str
    """The plain-text alternative: what the inbox shows and the text part carries."""
    metadata: dict[str, Any]
    """`{"email": {"subject", "html"}}` for the EMAIL connector."""


def open_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/t/o/{token}.gif"


def click_url(public_url: str, token: str, target: str) -> str:
    return f"{public_url.rstrip('/')}/t/c/{token}?u={quote(target, safe='')}"


def render(
    settings: Settings, campaign: Campaign, token: str, context: dict[str, Any]
) -> RenderedEmail:
    """One recipient's e-mail from the campaign's templates, the recipient's tracking token
    (made with the recipient) and the template variables (inbox/campaigns/context.py);
    TemplateRenderError when they do not render for this customer. No I/O."""
    subject = " ".join(templating.render(campaign.subject or "", context).split())
    body = templating.render_html(campaign.message_template, context)
    links = [url for url in links_in(body) if _TRACKABLE.fullmatch(url)]
    known = set(links)
    tracked = rewrite_links(
        body, lambda url: click_url(settings.public_url, token, url) if url in known else None
    )
    pixel = (
        f'<img src="{open_url(settings.public_url, token)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    return RenderedEmail(
        content=html_to_text(body),
        metadata={
            "email": {
                "subject": subject[:MAX_SUBJECT_CHARS] or campaign.name[:MAX_SUBJECT_CHARS],
                "html": append_before_body_end(tracked, pixel),
            },
            # The only targets a click on this e-mail may redirect to; the recipient gets
            # them too once the send is recorded.
            "trackedLinks": links,
        },
    )


def reply_metadata(ticket: Ticket) -> dict[str, Any]:
    """What an agent's e-mail reply carries besides its text: the ticket's subject."""
    return {"email": {"subject": ticket.subject}}


# -- tracking (web, public) ---------------------------------------------------------------------


async def record_open(token: str) -> bool:
    """Count the first open of the recipient with this token; True when this one counted."""
    if not token:
        return False
    coll = CampaignRecipient.get_pymongo_collection()
    # Found through the token's index, then stamped by `_id` with the "first" rule in the
    # filter: one conditional update (findAndModify would scan the whole collection on the
    # embedded server), so repeats and concurrent requests count once.
    found = await coll.find_one({"trackingToken": token}, {"campaignId": 1, "openedAt": 1})
    if found is None or found.get("openedAt") is not None:
        return False  # unknown token, or opened before
    now = utcnow()
    opened = await coll.update_one(
        {"_id": found["_id"], "openedAt": None}, {"$set": {"openedAt": now, "updatedAt": now}}
    )
    if opened.modified_count != 1:
        return False
    await Campaign.get_pymongo_collection().update_one(
        {"_id": found["campaignId"]}, {"$inc": {"openedCount": 1}}
    )
    return True


async def record_click(token: str, target: str) -> str | None:
    """The URL to redirect to when `target` is a link of this recipient's e-mail (None:
    unknown token or a link the e-mail did not contain). The first click counts once."""
    if not token:
        return None
    coll = CampaignRecipient.get_pymongo_collection()
    found = await coll.find_one({"trackingToken": token}, {"trackedLinks": 1, "campaignId": 1})
    if found is None or target not in (found.get("trackedLinks") or []):
        return None
    now = utcnow()
    clicked = await coll.update_one(
        {"_id": found["_id"], "clickedAt": None}, {"$set": {"clickedAt": now, "updatedAt": now}}
    )
    if clicked.modified_count == 1:
        await Campaign.get_pymongo_collection().update_one(
            {"_id": found["campaignId"]}, {"$inc": {"clickedCount": 1}}
        )
        await record_open(token)  # reading it is implied, even with images blocked
    return target

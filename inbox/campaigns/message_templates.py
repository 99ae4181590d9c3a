"""Message templates (e-mail, SMS, WhatsApp): named subject/body pairs to make campaigns from.

Templates are Jinja2 like campaigns (inbox/campaigns/context.py): a syntax error or a
variable outside `customer.*`, `customer_name` and `company_name` is a 400 naming the field
when the template is saved, so a campaign made from it never fails on a typo. `variables`
lists what the subject and body read. Names are unique per org and channel (409). Writes are
ADMIN-only (handlers) and audit-logged (`template.create|update|delete`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.errors import DuplicateKeyError

from inbox.accounts.documents import User
from inbox.audit import service as audit
from inbox.campaigns import context as campaign_context
from inbox.campaigns.broadcast_views import TemplateView, template_view
from inbox.campaigns.email_campaigns import MAX_SUBJECT_CHARS, MAX_TEMPLATE_CHARS
from inbox.campaigns.template_documents import MessageTemplate, TemplateChannel
from inbox.document_base import utcnow
from inbox.errors import Conflict, NotFound, ValidationFailed

MAX_EMAIL_BODY_CHARS = 65_536
MAX_SMS_BODY_CHARS = 1600  # Twilio's longest SMS body
_UNSET: Any = object()


def _limit(channel: TemplateChannel) -> int:
    if channel == TemplateChannel.EMAIL:
        return MAX_EMAIL_BODY_CHARS
    if channel == TemplateChannel.SMS:
        return MAX_SMS_BODY_CHARS
    return MAX_TEMPLATE_CHARS


def _checked(
    channel: TemplateChannel, subject: str | None, body: str, body_field: str
) -> tuple[str | None, list[str]]:
    """(subject to store, variables); 400 naming the field for anything unusable."""
    if not body.strip():
        raise ValidationFailed("A template needs a body", details={body_field: "required"})
    if len(body) > _limit(channel):
        raise ValidationFailed(
            "Template too long",
            details={body_field: f"at most {_limit(channel)} characters for {channel.value}"},
        )
    campaign_context.validate(body, body_field)
    if channel == TemplateChannel.EMAIL:
        if subject is None or not subject.strip():
            raise ValidationFailed(
                "An e-mail template needs a subject", details={"subject": "required"}
            )
        if len(subject) > MAX_SUBJECT_CHARS:
            raise ValidationFailed(
                "Subject too long", details={"subject": f"at most {MAX_SUBJECT_CHARS} characters"}
            )
        campaign_context.validate(subject, "subject")
        subject = subject.strip()
    elif subject is not None:
        raise ValidationFailed(
            "Only e-mail templates have a subject",
            details={"subject": f"{channel.value} templates have none"},
        )
    return subject, campaign_context.variables_of([subject, body])


def _name_taken(name: str) -> Conflict:
    return Conflict(
        "A template with this name already exists",
        code="TEMPLATE_NAME_TAKEN",
        details={"name": f"{name!r} is already used by another template of this kind"},
    )


async def get(
    org_id: str, template_id: str, channels: Iterable[TemplateChannel]
) -> MessageTemplate:
    """The org's template of one of `channels` (404 otherwise: the e-mail paths never show
    an SMS template)."""
    template = await MessageTemplate.find_one(
        MessageTemplate.org_id == org_id, MessageTemplate.id == template_id
    )
    if template is None or template.channel not in set(channels):
        raise NotFound("Template not found")
    return template


async def list_templates(
    org_id: str, channels: Iterable[TemplateChannel], skip: int, limit: int
) -> tuple[list[TemplateView], int]:
    """Newest first."""
    query = {"orgId": org_id, "channel": {"$in": [c.value for c in channels]}}
    found = MessageTemplate.find(query)
    total = await found.count()
    page = await found.sort([("createdAt", -1), ("_id", 1)]).skip(skip).limit(limit).to_list()
    return [template_view(t) for t in page], total


async def create(
    user: User,
    *,
    channel: TemplateChannel,
    name: str,
    body: str,
    subject: str | None = None,
    category: str | None = None,
    body_field: str = "body",
) -> TemplateView:
    subject, variables = _checked(channel, subject, body, body_field)
    template = MessageTemplate(
        org_id=user.org_id,
        name=name.strip(),
        channel=channel,
        category=category,
        subject=subject,
        body=body,
        variables=variables,
        created_by=user.id,
    )
    try:
        await template.insert()
    except DuplicateKeyError as exc:
        raise _name_taken(template.name) from exc
    await audit.record(
        user,
        "template.create",
        "template",
        template.id,
        {"name": template.name, "channel": channel.value, "category": category},
    )
    return template_view(template)


async def update(
    user: User,
    template_id: str,
    channels: Iterable[TemplateChannel],
    *,
    name: str | None = None,
    body: str | None = None,
    subject: str | None = _UNSET,
    category: str | None = _UNSET,
    body_field: str = "body",
) -> TemplateView:
    """Change what is given (campaigns made from the template keep their own copy)."""
    template = await get(user.org_id, template_id, channels)
    new_subject = template.subject if subject is _UNSET else subject
    new_body = template.body if body is None else body
    checked_subject, variables = _checked(template.channel, new_subject, new_body, body_field)
    changed = [
        field
        for field, old, new in (
            ("name", template.name, name.strip() if name is not None else template.name),
            ("subject", template.subject, checked_subject),
            ("body", template.body, new_body),
            ("category", template.category, template.category if category is _UNSET else category),
        )
        if old != new
    ]
    if not changed:
        return template_view(template)
    if name is not None:
        template.name = name.strip()
    if category is not _UNSET:
        template.category = category
    template.subject, template.body, template.variables = checked_subject, new_body, variables
    template.updated_at = utcnow()
    try:
        await template.save()
    except DuplicateKeyError as exc:
        raise _name_taken(template.name) from exc
    await audit.record(
        user,
        "template.update",
        "template",
        template.id,
        {"name": template.name, "changed": changed},
    )
    return template_view(template)


async def delete(user: User, template_id: str, channels: Iterable[TemplateChannel]) -> None:
    template = await get(user.org_id, template_id, channels)
    await template.delete()
    await audit.record(
        user,
        "template.delete",
        "template",
        template.id,
        {"name": template.name, "channel": template.channel.value},
    )

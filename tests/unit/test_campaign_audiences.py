"""Campaign audiences and templates without servers: addresses per platform, recipient type
filters, template variables, and the e-mail written out directly for sending."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import SMTP

import pytest

from connectors.base import ChannelType, OutboundMessage
from connectors.smtp import EmailConfig, build_email, email_bytes
from inbox.campaigns import context as campaign_context
from inbox.campaigns.documents import AudienceType
from inbox.channels.documents import Channel
from inbox.crm import audiences
from inbox.errors import ValidationFailed


def channel(kind: ChannelType, channel_id: str = "ch-1") -> Channel:
    # Not stored: built without Beanie's collection binding.
    return Channel.model_construct(id=channel_id, org_id="org", type=kind, name="c", config={})


CUSTOMER = {
    "_id": "cust-1",
    "email": "Ada@Example.com",
    "phone": "+2348012345678",
    "identities": [
        {"platform": "EMAIL", "externalId": "ada@example.com"},
        {"platform": "WHATSAPP", "externalId": "2348012345678"},
        {"platform": "SMS", "externalId": "+2348012345678"},
    ],
    "channelIds": [],
}


def test_each_platform_takes_the_customers_own_address_there():
    assert audiences.contact_of(CUSTOMER, channel(ChannelType.EMAIL)) == "ada@example.com"
    assert audiences.contact_of(CUSTOMER, channel(ChannelType.SMS)) == "+2348012345678"
    assert audiences.contact_of(CUSTOMER, channel(ChannelType.WHATSAPP)) == "2348012345678"
    # A phone without a WhatsApp identity still reaches WhatsApp by its digits.
    phone_only = {"_id": "c2", "phone": "+44 20 7946 0958", "identities": []}
    assert audiences.contact_of(phone_only, channel(ChannelType.WHATSAPP)) == "442079460958"
    assert audiences.contact_of(phone_only, channel(ChannelType.EMAIL)) is None
    assert (
        audiences.contact_of({"_id": "c3", "email": "not an address"}, channel(ChannelType.EMAIL))
        is None
    )


def test_page_scoped_ids_reach_only_customers_who_wrote_to_that_channel():
    wrote = {
        "_id": "c4",
        "platform": "FACEBOOK",
        "externalId": "1234567890",
        "identities": [{"platform": "FACEBOOK", "externalId": "1234567890"}],
        "channelIds": ["page-a"],
    }
    assert audiences.contact_of(wrote, channel(ChannelType.FACEBOOK, "page-a")) == "1234567890"
    assert audiences.contact_of(wrote, channel(ChannelType.FACEBOOK, "page-b")) is None
    assert audiences.contact_of(wrote, channel(ChannelType.INSTAGRAM, "page-a")) is None


def test_recipient_types_are_mongodb_filters():
    assert audiences.type_filter(AudienceType.ALL, ()) == {}
    assert audiences.type_filter(AudienceType.WITH_ORDERS, ()) == {"totalOrders": {"$gt": 0}}
    assert audiences.type_filter(AudienceType.WITHOUT_ORDERS, ()) == {
        "totalOrders": {"$not": {"$gt": 0}}
    }
    assert audiences.type_filter(AudienceType.VIP, ()) == {
        "tags": {"$regex": "^vip$", "$options": "i"}
    }
    assert audiences.type_filter(AudienceType.CUSTOM, ("a", "b")) == {"_id": {"$in": ["a", "b"]}}


async def test_an_audience_is_one_kind_and_custom_needs_customers():
    with pytest.raises(ValidationFailed) as both:
        await audiences.checked("org", "seg", AudienceType.ALL, None)
    assert "segmentId" in both.value.details
    with pytest.raises(ValidationFailed) as empty:
        await audiences.checked("org", None, AudienceType.CUSTOM, [" ", ""])
    assert "recipientIds" in empty.value.details
    with pytest.raises(ValidationFailed) as stray:
        await audiences.checked("org", None, AudienceType.VIP, ["c1"])
    assert "recipientIds" in stray.value.details
    assert not (await audiences.checked("org", None, None, None)).is_set


def test_templates_may_read_the_crm_customer_and_the_documents_flat_names():
    campaign_context.validate(
        "{{ customer_name }} at {{ company_name }}: {{ customer.email }} {{ customer.city }} "
        "{{ customer.totalRevenue }} {{ customer.tags | join(',') }} {{ customer.metadata.x }}",
        "body",
    )
    with pytest.raises(ValidationFailed) as typo:
        campaign_context.validate("{{ order_number }}", "body")
    assert typo.value.details == {"body": "undefined variable order_number"}
    assert campaign_context.variables_of(
        ["Hi {{ customer.name.title() }}", "{{ company_name }} {{ customer.metadata.code }}"]
    ) == ["customer.name", "company_name", "customer.metadata.code"]


CONFIG = EmailConfig.model_validate(
    {"host": "127.0.0.1", "port": 25, "security": "none", "fromAddress": "news@shop.example",
     "fromName": "Ça Shop"}
)  # fmt: skip


@pytest.mark.parametrize(
    "subject",
    [
        "Spring sale",
        "Ça commence — la grande braderie de printemps, avec des prix très bas pour vous",
        "A plain subject that is long enough that it has to be folded over two lines at least",
    ],
)
def test_the_email_written_for_sending_is_the_built_one(subject):
    message = OutboundMessage(
        recipient="ada@example.com",
        content="Hello Ada,\n\n= 100% off =\n. a line starting with a dot",
        metadata={
            "email": {
                "subject": subject,
                "html": "<p>Hello Ada, naïve café</p>\n<p>= 100% off =</p>",
                "references": "<a@shop.example> <b@shop.example>",
            }
        },
        idempotency_key="0b5f6a52-7f5e-4c1e-9a53-2b7c1f0e8d21",
    )
    written = email_bytes(CONFIG, message)
    assert written is not None
    recipient, raw = written
    parsed = message_from_bytes(raw, policy=SMTP)
    built = build_email(CONFIG, message)
    assert recipient == "ada@example.com"
    for header in ("From", "To", "Subject", "Message-ID", "References"):
        assert str(parsed[header]) == str(built[header]), header
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content() for p in parsed.iter_parts()] == [
        p.get_content() for p in built.iter_parts()
    ]
    assert all(len(line) <= 78 for line in raw.split(b"\n"))
    assert raw.isascii()


def test_a_non_ascii_address_is_left_to_the_email_package():
    message = OutboundMessage(
        recipient="josé@example.com", content="Hi", metadata={}, idempotency_key="k-1"
    )
    assert email_bytes(CONFIG, message) is None

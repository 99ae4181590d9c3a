"""Campaign e-mail rules that need no database: subjects, HTML escaping, tracking URLs."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from connectors.base import ChannelType
from inbox import templating
from inbox.campaigns.email_campaigns import (
    MAX_TEMPLATE_CHARS,
    PIXEL_GIF,
    checked_subject,
    click_url,
    open_url,
)
from inbox.errors import ValidationFailed


def test_an_email_campaign_needs_a_subject_that_is_a_valid_template():
    assert checked_subject(ChannelType.EMAIL, " Hi {{ customer.name }} ", "<p>x</p>") == (
        "Hi {{ customer.name }}"
    )
    with pytest.raises(ValidationFailed) as missing:
        checked_subject(ChannelType.EMAIL, None, "<p>x</p>")
    assert missing.value.details == {"subject": "required for EMAIL campaigns"}
    with pytest.raises(ValidationFailed) as unknown:
        checked_subject(ChannelType.EMAIL, "Hi {{ customer.emial }}", "<p>x</p>")
    assert "customer.emial" in unknown.value.details["subject"]


def test_only_email_bodies_may_be_long_and_other_types_keep_no_subject():
    assert checked_subject(ChannelType.SMS, "ignored", "Hi") is None
    long_body = "x" * (MAX_TEMPLATE_CHARS + 1)
    with pytest.raises(ValidationFailed) as caught:
        checked_subject(ChannelType.WHATSAPP, None, long_body)
    assert "messageTemplate" in caught.value.details
    assert checked_subject(ChannelType.EMAIL, "Sale", long_body) == "Sale"


def test_customer_values_are_escaped_in_html_bodies_but_not_in_text():
    context = {"customer": {"name": "Tom & <b>Jerry</b>", "metadata": {}}}
    html = templating.render_html("<p>Hi {{ customer.name }}</p>", context)
    assert html == "<p>Hi Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;</p>"
    assert templating.render("Hi {{ customer.name }}", context) == "Hi Tom & <b>Jerry</b>"


def test_tracking_urls_carry_the_token_and_the_exact_link():
    link = "https://shop.example/a?x=1&y=two words#top"
    url = click_url("https://inbox.example/", "tok", link)
    assert url.startswith("https://inbox.example/t/c/tok?u=")
    assert unquote(url.split("?u=", 1)[1]) == link
    assert open_url("https://inbox.example", "tok") == "https://inbox.example/t/o/tok.gif"
    assert PIXEL_GIF.startswith(b"GIF89a") and len(PIXEL_GIF) == 43


def test_only_printable_ascii_links_of_bounded_length_are_tracked():
    from inbox.campaigns.email_campaigns import _TRACKABLE, MAX_TRACKED_LINK_CHARS

    assert _TRACKABLE.fullmatch("https://shop.example/a?x=1&y=%20")
    assert not _TRACKABLE.fullmatch("https://shop.example/a b")
    assert not _TRACKABLE.fullmatch("https://exämple.com/")
    assert not _TRACKABLE.fullmatch("https://shop.example/" + "a" * MAX_TRACKED_LINK_CHARS)

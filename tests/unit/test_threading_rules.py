"""Pure rules of threading: receipt order and ticket subjects."""

from __future__ import annotations

from connectors.base import DeliveryStatus
from inbox.conversations.threader import statuses_before, subject_from


def test_a_receipt_only_moves_a_message_forward():
    assert statuses_before(DeliveryStatus.DELIVERED) == ["QUEUED", "SENDING", "SENT"]
    assert "READ" not in statuses_before(DeliveryStatus.SENT)
    assert "DELIVERED" not in statuses_before(DeliveryStatus.DELIVERED)


def test_a_failure_never_overrides_delivered_or_read():
    before = statuses_before(DeliveryStatus.FAILED)
    assert "DELIVERED" not in before and "READ" not in before
    assert "SENT" in before


def test_a_ticket_subject_is_the_first_line_of_the_first_message():
    assert subject_from("Where is my order?\nIt was due Monday") == "Where is my order?"
    assert len(subject_from("x" * 500)) == 80
    assert subject_from("   ") == "New conversation"

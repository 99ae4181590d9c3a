"""The webhook journal entry is built without Beanie (intake's hot path); it must stay the
document Beanie would store."""

from __future__ import annotations

from inbox.channels.documents import Channel, WebhookDelivery
from inbox.channels.intake import journal_entry


def test_a_journal_entry_has_every_stored_field_of_a_webhook_delivery():
    channel = Channel.model_construct(id="ch-1", org_id="org-1")
    entry = journal_entry(
        "d-1", channel, "{}", status="RECEIVED", event_count=2, errors=[{"reason": "x"}]
    )
    stored = {
        (field.alias or name)
        for name, field in WebhookDelivery.model_fields.items()
        if not field.exclude
    }
    assert set(entry) == stored
    assert entry["_id"] == "d-1" and entry["orgId"] == "org-1" and entry["channelId"] == "ch-1"
    assert entry["doneEvents"] == [] and entry["eventCount"] == 2
    assert entry["createdAt"] == entry["updatedAt"] and entry["createdAt"].tzinfo is not None

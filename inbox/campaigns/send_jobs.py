"""A campaign batch's work items, shared by its send phase (sending.py) and its store phase
(storing.py): a `Job` per recipient record, the `Outcome` of its send, and the `SentBatch`
handed from one phase to the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.base import DeliveryStatus
from inbox.campaigns.documents import Campaign
from inbox.channels.documents import Channel
from inbox.crm.customer_documents import Customer
from inbox.records import CampaignRecord

UNSENT = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)


@dataclass
class Job:
    """One recipient record of the batch, and what the phases find out about it."""

    record: CampaignRecord
    recipient: dict[str, Any]
    campaign: Campaign
    channel: Channel
    message_id: str
    stored: dict[str, Any] | None = None  # the message from an earlier run, if any
    customer: Customer | None = None
    content: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # failed before anything was sent
    outcome: Outcome | None = None  # the send's, this run
    message: dict[str, Any] | None = None  # the stored message once there is one

    @property
    def contact(self) -> str:
        return str(self.recipient["recipientContact"])


@dataclass(frozen=True)
class Outcome:
    """What one send did."""

    status: DeliveryStatus
    external_id: str | None
    error: dict[str, Any] | None
    attempts: int


@dataclass
class SentBatch:
    """A batch after its sends (`send_phase`), before they are stored (`store_phase`)."""

    jobs: list[Job]
    fresh: list[Job]
    resent: list[Job]

    @property
    def campaign_ids(self) -> set[str]:
        return {j.campaign.id for j in self.jobs}

"""Analytics for one organisation: tickets, channels, campaigns and agents.

Every figure is computed by a MongoDB aggregation pipeline ($match on the org and period,
$group with $sum/$avg/$cond, $dateToString for days); Python only joins the grouped rows
(one per status, channel, campaign or agent) with names. No report loads every ticket or
message.

Periods are UTC. `from` and `to` are inclusive dates (or exact instants); tickets, messages,
customers and campaigns count when they were created in the period, closes when they were
closed in it. Response times are in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from connectors.base import Direction
from inbox.accounts.documents import User
from inbox.analytics.views import (
    AgentAnalyticsView,
    AgentStat,
    AnalyticsPeriod,
    CampaignAnalyticsView,
    CampaignStat,
    ChannelAnalyticsView,
    ChannelStat,
    DailyTicketStat,
    TicketAnalyticsView,
)
from inbox.campaigns import service as campaign_service
from inbox.campaigns.documents import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from inbox.channels.documents import Channel
from inbox.conversations.documents import Message, Ticket, TicketStatus
from inbox.crm.customer_documents import Customer
from inbox.view_base import ChannelRef

DAILY_DEFAULT_DAYS = 30
DAILY_MAX_DAYS = 366
_CLOSED = TicketStatus.CLOSED.value


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; either end may be open. `first_day`/`last_day` echo the request."""

    start: datetime | None = None
    end: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None

    @classmethod
    def of(cls, since: date | datetime | None, until: date | datetime | None) -> Period:
        """A date `until` includes that whole day; a datetime `until` includes that instant."""
        start = _instant(since)
        end: datetime | None = None
        if isinstance(until, datetime):
            end = _instant(until) + timedelta(milliseconds=1)  # Mongo keeps milliseconds
        elif isinstance(until, date):
            end = _instant(until + timedelta(days=1))
        return cls(
            start=start,
            end=end,
            first_day=start.date() if start else None,
            last_day=(end - timedelta(milliseconds=1)).date() if end else None,
        )

    def match(self, field: str) -> dict[str, Any]:
        if self.start is None and self.end is None:
            return {}
        bounds: dict[str, Any] = {}
        if self.start is not None:
            bounds["$gte"] = self.start
        if self.end is not None:
            bounds["$lt"] = self.end
        return {field: bounds}

    def view(self) -> AnalyticsPeriod:
        return AnalyticsPeriod(from_=self.first_day, to=self.last_day)


def _instant(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


async def _rows(coll: AsyncCollection, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return await (await coll.aggregate(pipeline)).to_list()


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000.0, 3)


def _nonnegative_diff(later: str, earlier: str) -> dict[str, Any]:
    """`later - earlier` in ms when both are set and in order, else null ($avg skips nulls)."""
    return {
        "$let": {
            "vars": {"d": {"$subtract": [later, earlier]}},
            "in": {
                "$cond": [{"$and": [{"$ne": ["$$d", None]}, {"$gte": ["$$d", 0]}]}, "$$d", None]
            },
        }
    }


async def _org_channels(org_id: str) -> list[dict[str, Any]]:
    return (
        await Channel.get_pymongo_collection()
        .find({"orgId": org_id, "deletedAt": None}, {"name": 1, "type": 1, "isActive": 1})
        .sort("createdAt", 1)
        .to_list()
    )


# -- tickets ---------------------------------------------------------------------------------


async def tickets(
    org_id: str, period: Period, channel_id: str | None = None
) -> TicketAnalyticsView:
    coll = Ticket.get_pymongo_collection()
    match: dict[str, Any] = {"orgId": org_id, **period.match("createdAt")}
    if channel_id:
        match["channelId"] = channel_id

    by_status = {s.value: 0 for s in TicketStatus}
    by_channel: dict[str, int] = {}
    if not channel_id:
        by_channel = {c["_id"]: 0 for c in await _org_channels(org_id)}
    counts = await _rows(
        coll,
        [
            {"$match": match},
            {"$group": {"_id": {"s": "$status", "c": "$channelId"}, "n": {"$sum": 1}}},
        ],
    )
    for row in counts:
        status, channel = row["_id"]["s"], row["_id"]["c"]
        by_status[status] = by_status.get(status, 0) + row["n"]
        by_channel[channel] = by_channel.get(channel, 0) + row["n"]

    response = await _rows(
        coll,
        [
            {"$match": {**match, "firstResponseAt": {"$ne": None}}},
            {
                "$group": {
                    "_id": None,
                    "avg": {"$avg": _nonnegative_diff("$firstResponseAt", "$firstInboundAt")},
                }
            },
        ],
    )

    total = sum(by_status.values())
    return TicketAnalyticsView(
        period=period.view(),
        total_tickets=total,
        open_tickets=total - by_status[_CLOSED],
        closed_tickets=by_status[_CLOSED],
        avg_response_time=_seconds(response[0]["avg"] if response else None),
        tickets_by_status=by_status,
        tickets_by_channel=by_channel,
        daily_stats=await _daily(coll, org_id, period, channel_id),
    )


async def _daily(
    coll: AsyncCollection, org_id: str, period: Period, channel_id: str | None
) -> list[DailyTicketStat]:
    """One row per day (zeros included) of the period's last `DAILY_MAX_DAYS` days; without
    a period, the last `DAILY_DEFAULT_DAYS` days up to today."""
    last = period.last_day or datetime.now(UTC).date()
    first = period.first_day or last - timedelta(days=DAILY_DEFAULT_DAYS - 1)
    first = max(first, last - timedelta(days=DAILY_MAX_DAYS - 1))
    days = Period.of(first, last)
    base: dict[str, Any] = {"orgId": org_id}
    if channel_id:
        base["channelId"] = channel_id

    async def per_day(field: str) -> dict[str, int]:
        rows = await _rows(
            coll,
            [
                {"$match": {**base, **days.match(field)}},
                {
                    "$group": {
                        "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": f"${field}"}},
                        "n": {"$sum": 1},
                    }
                },
            ],
        )
        return {r["_id"]: r["n"] for r in rows}

    created, closed = await per_day("createdAt"), await per_day("closedAt")
    out = []
    day = first
    while day <= last:
        key = day.isoformat()
        out.append(
            DailyTicketStat(date=key, created=created.get(key, 0), closed=closed.get(key, 0))
        )
        day += timedelta(days=1)
    return out


# -- channels --------------------------------------------------------------------------------


async def channels(org_id: str, period: Period) -> ChannelAnalyticsView:
    chans = await _org_channels(org_id)
    ids = [c["_id"] for c in chans]
    messages = await _rows(
        Message.get_pymongo_collection(),
        [
            {"$match": {"orgId": org_id, **period.match("createdAt")}},
            {"$group": {"_id": {"c": "$channelId", "d": "$direction"}, "n": {"$sum": 1}}},
        ],
    )
    msg_in: dict[str, int] = {}
    msg_out: dict[str, int] = {}
    for row in messages:
        target = msg_in if row["_id"]["d"] == Direction.INBOUND.value else msg_out
        target[row["_id"]["c"]] = target.get(row["_id"]["c"], 0) + row["n"]
    ticket_rows = await _rows(
        Ticket.get_pymongo_collection(),
        [
            {"$match": {"orgId": org_id, **period.match("createdAt")}},
            {
                "$group": {
                    "_id": "$channelId",
                    "n": {"$sum": 1},
                    "open": {"$sum": {"$cond": [{"$ne": ["$status", _CLOSED]}, 1, 0]}},
                }
            },
        ],
    )
    tickets_of = {r["_id"]: r for r in ticket_rows}
    customer_rows = await _rows(
        Customer.get_pymongo_collection(),
        [
            {"$match": {"orgId": org_id, "channelIds": {"$in": ids}, **period.match("createdAt")}},
            {"$unwind": "$channelIds"},
            {"$match": {"channelIds": {"$in": ids}}},
            {"$group": {"_id": "$channelIds", "n": {"$sum": 1}}},
        ],
    )
    customers_of = {r["_id"]: r["n"] for r in customer_rows}
    stats = [
        ChannelStat(
            channel_id=c["_id"],
            name=c["name"],
            type=c["type"],
            is_active=c.get("isActive", True),
            messages_in=msg_in.get(c["_id"], 0),
            messages_out=msg_out.get(c["_id"], 0),
            tickets=tickets_of.get(c["_id"], {}).get("n", 0),
            open_tickets=tickets_of.get(c["_id"], {}).get("open", 0),
            customers=customers_of.get(c["_id"], 0),
        )
        for c in chans
    ]
    # Totals include deleted channels' history; a customer on two channels counts once.
    total_customers = await Customer.get_pymongo_collection().count_documents(
        {"orgId": org_id, **period.match("createdAt")}
    )
    return ChannelAnalyticsView(
        period=period.view(),
        total_messages_in=sum(msg_in.values()),
        total_messages_out=sum(msg_out.values()),
        total_tickets=sum(r["n"] for r in ticket_rows),
        total_customers=total_customers,
        channels=stats,
    )


# -- campaigns -------------------------------------------------------------------------------


async def campaigns(org_id: str, period: Period) -> CampaignAnalyticsView:
    found = (
        await Campaign.get_pymongo_collection()
        .find(
            {"orgId": org_id, **period.match("createdAt")},
            {"messageTemplate": 0},
        )
        .sort("createdAt", -1)
        .to_list()
    )
    ids = [c["_id"] for c in found]
    per_status: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        rows = await _rows(
            CampaignRecipient.get_pymongo_collection(),
            [
                {"$match": {"orgId": org_id, "campaignId": {"$in": ids}}},
                {"$group": {"_id": {"c": "$campaignId", "s": "$status"}, "n": {"$sum": 1}}},
            ],
        )
        for row in rows:
            per_status[row["_id"]["c"]][row["_id"]["s"]] = row["n"]
    receipts = await campaign_service.message_receipts(ids)
    channel_ids = list({c["channelId"] for c in found})
    chans = {
        c["_id"]: c
        async for c in Channel.get_pymongo_collection().find(
            {"_id": {"$in": channel_ids}}, {"name": 1, "type": 1}
        )
    }

    stats: list[CampaignStat] = []
    by_status = {s.value: 0 for s in CampaignStatus}
    for c in found:
        counts = per_status[c["_id"]]
        sent = counts.get(RecipientStatus.SENT.value, 0)
        delivered, read = receipts.get(c["_id"], (0, 0))
        chan = chans.get(c["channelId"])
        by_status[c["status"]] = by_status.get(c["status"], 0) + 1
        stats.append(
            CampaignStat(
                campaign_id=c["_id"],
                name=c["name"],
                status=c["status"],
                channel=ChannelRef(id=chan["_id"], name=chan["name"], type=chan["type"])
                if chan
                else None,
                recipients=sum(counts.values()),
                sent=sent,
                failed=counts.get(RecipientStatus.FAILED.value, 0),
                pending=counts.get(RecipientStatus.PENDING.value, 0),
                delivered=delivered,
                read=read,
                delivery_rate=round(delivered / sent, 4) if sent else None,
                read_rate=round(read / sent, 4) if sent else None,
                created_at=c["createdAt"],
                started_at=c.get("startedAt"),
                completed_at=c.get("completedAt"),
            )
        )
    return CampaignAnalyticsView(
        period=period.view(),
        total_campaigns=len(stats),
        campaigns_by_status=by_status,
        total_recipients=sum(s.recipients for s in stats),
        total_sent=sum(s.sent for s in stats),
        total_failed=sum(s.failed for s in stats),
        total_delivered=sum(s.delivered for s in stats),
        total_read=sum(s.read for s in stats),
        campaigns=stats,
    )


# -- agents ----------------------------------------------------------------------------------


async def agents(org_id: str, period: Period) -> AgentAnalyticsView:
    """Per user: tickets assigned to them now (created in the period), replies they wrote
    in the period, and the response and resolution times of their tickets."""
    users = (
        await User.get_pymongo_collection()
        .find({"orgId": org_id}, {"name": 1, "email": 1, "role": 1, "isActive": 1})
        .sort("createdAt", 1)
        .to_list()
    )
    user_ids = [u["_id"] for u in users]
    ticket_rows = await _rows(
        Ticket.get_pymongo_collection(),
        [
            {
                "$match": {
                    "orgId": org_id,
                    "assigneeId": {"$in": user_ids},
                    **period.match("createdAt"),
                }
            },
            {
                "$group": {
                    "_id": "$assigneeId",
                    "assigned": {"$sum": 1},
                    "closed": {"$sum": {"$cond": [{"$eq": ["$status", _CLOSED]}, 1, 0]}},
                    "firstResponse": {
                        "$avg": _nonnegative_diff("$firstResponseAt", "$firstInboundAt")
                    },
                    "resolution": {
                        "$avg": {
                            "$cond": [
                                {"$eq": ["$status", _CLOSED]},
                                _nonnegative_diff("$closedAt", "$createdAt"),
                                None,
                            ]
                        }
                    },
                }
            },
        ],
    )
    per_user = {r["_id"]: r for r in ticket_rows}
    reply_rows = await _rows(
        Message.get_pymongo_collection(),
        [
            {
                "$match": {
                    "orgId": org_id,
                    **period.match("createdAt"),
                    "direction": Direction.OUTBOUND.value,
                    "senderUserId": {"$in": user_ids},
                }
            },
            {"$group": {"_id": "$senderUserId", "n": {"$sum": 1}}},
        ],
    )
    replies = {r["_id"]: r["n"] for r in reply_rows}
    stats = []
    for u in users:
        row = per_user.get(u["_id"], {})
        assigned, closed = row.get("assigned", 0), row.get("closed", 0)
        stats.append(
            AgentStat(
                user_id=u["_id"],
                name=u["name"],
                email=u["email"],
                role=u["role"],
                is_active=u.get("isActive", True),
                assigned=assigned,
                open=assigned - closed,
                closed=closed,
                replies=replies.get(u["_id"], 0),
                avg_first_response_time=_seconds(row.get("firstResponse")),
                avg_resolution_time=_seconds(row.get("resolution")),
            )
        )
    return AgentAnalyticsView(period=period.view(), agents=stats)

"""Audit logs: every write a user makes, with actor, action, entity and a secret-free summary.

Services call `record(...)` right after a write succeeds. Actions are "<entity>.<verb>"
(e.g. "ticket.assign"). Writes made by the system itself (the stream worker, a reply that
reopens its ticket) have no user and are not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.accounts.documents import User
from inbox.audit.documents import AuditLog
from inbox.audit.views import AuditLogView, AuditSummaryView, audit_log_view
from inbox.channels.documents import Channel
from inbox.errors import NotFound


async def record(
    user: User | None,
    action: str,
    entity: str,
    entity_id: str,
    metadata: dict[str, Any] | None = None,
) -> AuditLog | None:
    """Record one write by `user` (no-op without one). `metadata` must hold no secrets."""
    if user is None:
        return None
    entry = AuditLog(
        org_id=user.org_id,
        user_id=user.id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        metadata=metadata or {},
    )
    await entry.insert()
    return entry


def channel_summary(channel: Channel) -> dict[str, Any]:
    """A new channel, without its config values (they hold tokens and app secrets)."""
    return {"type": channel.type.value, "name": channel.name, "configKeys": sorted(channel.config)}


def channel_changes(before: Channel, after: Channel) -> dict[str, Any]:
    """Which fields and config keys changed; never a value, since config values are secrets."""
    changed = [
        field
        for field, old, new in (
            ("name", before.name, after.name),
            ("isActive", before.is_active, after.is_active),
        )
        if old != new
    ]
    config_keys = sorted(
        k
        for k in before.config.keys() | after.config.keys()
        if before.config.get(k) != after.config.get(k)
    )
    if config_keys:
        changed.append("config")
    return {"changed": changed, "configKeys": config_keys}


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    entity: str | None = None
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _match(org_id: str, f: AuditFilters) -> dict[str, Any]:
    query: dict[str, Any] = {"orgId": org_id}
    if f.action:
        query["action"] = f.action
    if f.entity:
        query["entity"] = f.entity
    if f.user_id:
        query["userId"] = f.user_id
    if f.since or f.until:
        query["createdAt"] = {
            **({"$gte": f.since} if f.since else {}),
            **({"$lte": f.until} if f.until else {}),
        }
    return query


async def list_logs(
    org_id: str, filters: AuditFilters, skip: int, limit: int
) -> tuple[list[AuditLogView], int]:
    found = AuditLog.find(_match(org_id, filters))
    total = await found.count()
    entries = await found.sort(-AuditLog.created_at, -AuditLog.id).skip(skip).limit(limit).to_list()
    user_ids = list({e.user_id for e in entries})
    users = (
        {u.id: u for u in await User.find({"_id": {"$in": user_ids}}).to_list()} if user_ids else {}
    )
    return [audit_log_view(e, users.get(e.user_id)) for e in entries], total


async def list_for_user(
    org_id: str, user_id: str, filters: AuditFilters, skip: int, limit: int
) -> tuple[list[AuditLogView], int]:
    if await User.find_one(User.org_id == org_id, User.id == user_id) is None:
        raise NotFound("User not found")
    scoped = AuditFilters(
        action=filters.action,
        entity=filters.entity,
        user_id=user_id,
        since=filters.since,
        until=filters.until,
    )
    return await list_logs(org_id, scoped, skip, limit)


async def summary(org_id: str, filters: AuditFilters) -> AuditSummaryView:
    """Counts per action and per entity, plus the total, in one aggregation."""
    pipeline = [
        {"$match": _match(org_id, filters)},
        {"$group": {"_id": {"action": "$action", "entity": "$entity"}, "count": {"$sum": 1}}},
    ]
    rows = await (await AuditLog.get_pymongo_collection().aggregate(pipeline)).to_list()
    by_action: dict[str, int] = {}
    by_entity: dict[str, int] = {}
    for row in rows:
        action, entity = row["_id"]["action"], row["_id"]["entity"]
        by_action[action] = by_action.get(action, 0) + row["count"]
        by_entity[entity] = by_entity.get(entity, 0) + row["count"]
    return AuditSummaryView(
        total=sum(by_action.values()),
        by_action=dict(sorted(by_action.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_entity=dict(sorted(by_entity.items(), key=lambda kv: (-kv[1], kv[0]))),
    )

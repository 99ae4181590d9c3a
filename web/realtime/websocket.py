"""GET /ws?token=...&since=...: the org's events, replayed from `since`, then live."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from inbox import events
from inbox.accounts import auth as auth_service
from inbox.errors import Unauthorized, ValidationFailed
from inbox.events import OrgEvent, parse_event_id
from inbox.security import read_access_token
from web import keys
from web import openapi_models as om
from web.endpoints import Routes
from web.errors import validation_details
from web.realtime.presence import Connection, Presence, PresenceMessage

routes = Routes("realtime")

CLOSE_TOKEN_EXPIRED = 4001
CLOSE_RESYNC = 4002
# First frame of a connection without `since`: its id is the newest event id at connect time,
# so a client that has not seen any event yet still has a cursor to resume from.
READY = "ready"


# Raw: a websocket upgrade that authenticates by `?token=` (browsers cannot set headers on
# one) and reads `since` itself; the declaration only documents it.
@routes.get(
    "/ws",
    "Realtime events (websocket upgrade)",
    description='Frames are `{"id", "event", "data"}`; reconnect with `since` set to '
    "the last id seen to receive what was missed. Closes with 4001 when the token expires.",
    tags=["realtime"],
    query=om.WebsocketQuery,
    status=101,
    content_type=None,
    response_description="Switching to the websocket protocol",
    errors=[400, 401],
    auth=False,
    raw=True,
)
async def websocket(request: web.Request) -> web.StreamResponse:
    token = request.query.get("token")
    if not token:
        raise Unauthorized("Missing token", code="TOKEN_MISSING")
    settings = request.app[keys.SETTINGS]
    user = await auth_service.authenticate(settings, token)
    expires_at = read_access_token(token, settings.jwt_secret).expires_at
    since = request.query.get("since")
    if since:
        try:
            since_key = parse_event_id(since)
        except ValueError as exc:
            raise ValidationFailed(
                "since must be an event id", details={"since": "not an event id"}
            ) from exc

    hub = request.app[keys.HUB]
    log = request.app[keys.EVENT_LOG]
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    # Subscribe before replaying so nothing published in between falls through the gap;
    # the live loop then skips what the replay already sent.
    sub = await hub.subscribe(user.org_id)
    presence = request.app[keys.PRESENCE]
    conn = await presence.join(user.org_id, user.id, user.name)
    last: tuple[int, int] = (0, 0)

    async def send(event: OrgEvent) -> None:
        nonlocal last
        # Notifications are private: the org's log carries everyone's, each socket gets its
        # own user's only (the cursor still advances so replay stays gap-free).
        if not _is_private_to_other(event, user.id):
            await ws.send_str(event.to_json())
        last = parse_event_id(event.id)

    async def pump() -> None:
        nonlocal last
        if not since:
            head = await log.last_id(user.org_id)
            await ws.send_str(json.dumps({"id": head, "event": READY, "data": {}}))
        if since:
            oldest = await log.oldest_id(user.org_id)
            if oldest is not None and parse_event_id(oldest) > since_key and since_key != (0, 0):
                await ws.send_str(
                    json.dumps(
                        {
                            "id": since,
                            "event": events.RESYNC_REQUIRED,
                            "data": {
                                "reason": "Events after this id are gone; reload the inbox.",
                                "oldestId": oldest,
                            },
                        }
                    )
                )
            cursor = since
            while True:
                batch = await log.since(user.org_id, cursor)
                for event in batch:
                    await send(event)
                if len(batch) < 1000:
                    break
                cursor = batch[-1].id
        while True:
            remaining = (expires_at - datetime.now(UTC)).total_seconds()
            if remaining <= 0:
                await ws.close(code=CLOSE_TOKEN_EXPIRED, message=b"token expired")
                return
            try:
                event = await asyncio.wait_for(sub.queue.get(), timeout=remaining)
            except TimeoutError:
                continue
            if sub.overflowed:
                await ws.close(code=CLOSE_RESYNC, message=b"too far behind; reconnect with since")
                return
            if not event.id:
                # Ephemeral (presence): not in the log, so no id to resume from; the
                # event's JSON is encoded once for all sockets.
                await ws.send_str(event.to_json())
            elif parse_event_id(event.id) > last:
                await send(event)

    pumping = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str(json.dumps({"event": "pong"}))
            elif msg.type == WSMsgType.TEXT:
                await _client_message(ws, presence, conn, msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
            if pumping.done():
                break
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pumping
        hub.unsubscribe(sub)
        with contextlib.suppress(Exception):
            # Shielded: a cancelled handler must still take the user off the list.
            await asyncio.shield(presence.leave(conn))
    return ws


async def _client_message(
    ws: web.WebSocketResponse, presence: Presence, conn: Connection, raw: str
) -> None:
    """`{"type": "presence", "viewing", "typing"}`; anything else gets an `error` event."""
    try:
        msg = PresenceMessage.model_validate_json(raw)
    except ValidationError as exc:
        await ws.send_str(
            json.dumps(
                {
                    "id": None,
                    "event": "error",
                    "data": {
                        "message": 'Expected {"type": "presence", "viewing", "typing"}',
                        "code": "VALIDATION_ERROR",
                        "details": validation_details(exc),
                    },
                }
            )
        )
        return
    await presence.update(conn, msg.viewing, msg.typing)


def _is_private_to_other(event: OrgEvent, user_id: str) -> bool:
    return event.event == "notification.created" and event.data.get("userId") != user_id

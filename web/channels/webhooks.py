"""/webhook/{channelId}: Meta's subscription handshake and message deliveries."""

from __future__ import annotations

from aiohttp import web

from inbox.channels import intake as webhook_service
from inbox.errors import PayloadTooLarge
from web import keys
from web import openapi_models as om
from web.endpoints import Call, Routes

routes = Routes("webhooks")


@routes.get(
    "/webhook/{channelId}",
    "Webhook subscription handshake (Meta)",
    auth=False,
    tags=["webhooks"],
    query=om.WebhookVerifyQuery,
    content_type="text/plain",
    response_description="The `hub.challenge`, echoed",
    errors=[400, 403],
)
async def verify(call: Call[None, om.WebhookVerifyQuery]) -> web.Response:
    # The `hub.*` keys exactly as sent: the query model would also take `hub_mode` & co.
    # (populate_by_name), which Meta never sends and the handshake never accepted.
    sent = call.request.query
    challenge = await webhook_service.verify_subscription(
        call.path("channelId"),
        sent.get("hub.mode"),
        sent.get("hub.verify_token"),
        sent.get("hub.challenge"),
    )
    return web.Response(text=challenge, content_type="text/plain")


# raw: the signature covers the body's exact bytes, SMS bodies are form-encoded, and the size
# limit is enforced while reading, so the body is never parsed as a JSON model here.
@routes.post(
    "/webhook/{channelId}",
    "Webhook delivery from the platform",
    auth=False,
    raw=True,
    description="Answered 2xx only once the delivery is durably journaled; redeliveries of "
    "the same body change nothing. Meta channels post JSON signed with `X-Hub-Signature-256`. "
    "SMS channels take Twilio's form-encoded posts (incoming SMS and status callbacks) signed "
    "with `X-Twilio-Signature`, and answer them with empty TwiML (`text/xml`). EMAIL channels "
    "take no webhooks (404).",
    tags=["webhooks"],
    body=om.WebhookPayload,
    response=om.WebhookAccepted,
    headers={
        "X-Hub-Signature-256": "`sha256=<hex HMAC of the body with the app secret>`",
        "X-Twilio-Signature": "SMS channels: base64 HMAC-SHA1 of the URL and sorted form fields",
    },
    errors=[400, 401, 403, 413],
)
async def receive(request: web.Request) -> web.Response:
    limit = request.app[keys.SETTINGS].webhook_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Webhook body exceeds {limit} bytes")
    raw = await _read_at_most(request, limit)
    reply = await webhook_service.accept(
        request.app[keys.DEPS],
        request.match_info["channelId"],
        raw,
        request.headers.get("X-Hub-Signature-256"),
        headers=dict(request.headers),
        received_url=str(request.url),
    )
    if reply is not None:
        text, content_type = reply
        return web.Response(text=text, content_type=content_type)
    return web.json_response({"ok": True})


async def _read_at_most(request: web.Request, limit: int) -> bytes:
    """The body, refusing it as soon as it grows past `limit` (chunked bodies have no
    Content-Length to check up front)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Webhook body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)

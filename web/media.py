"""/media/{key}: uploaded media (product images), public so storefronts and messages can
show them. Keys are 128 random bits, so a URL is only known to whoever was given it; any
other key, a path or a traversal attempt is a 404 before the storage is touched."""

from __future__ import annotations

from aiohttp import web

from web.endpoints import Call, Routes

routes = Routes("media")

# A key names one upload forever (a new upload gets a new key), so caches may keep it.
CACHE_CONTROL = "public, max-age=31536000, immutable"


@routes.get(
    "/media/{key}",
    "An uploaded image",
    description="The bytes of an uploaded product image with its type (image/jpeg, "
    "image/png, image/gif or image/webp); cacheable for a year, as a key never changes.",
    tags=["media"],
    content_type="image/*",
    auth=False,
)
async def serve(call: Call[None, None]) -> web.StreamResponse:
    request = call.request
    stored = await call.deps.media.open(call.path("key"))
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": stored.content_type,
                "Cache-Control": CACHE_CONTROL,
                "ETag": f'"{stored.key}"',
                # Never sniffed as anything else (e.g. HTML), whatever the bytes look like.
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            }
        )
        response.content_length = stored.size
        await response.prepare(request)
        if request.method != "HEAD":
            async for chunk in stored.chunks():
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await stored.aclose()

"""A local fake of Meta's Graph API that answers in the real wire shapes.

    async with FakeGraph() as g:               # binds 127.0.0.1 on a free port
        config["apiBaseUrl"] = g.base_url      # http://127.0.0.1:<port>/v21.0
        g.tokens = {"EAAG-good"}               # optional: reject other Bearer tokens (190)
        g.fail_next(2, status=429)             # next 2 requests fail, then succeed
        g.delay_next(1.0)                      # next request answers after 1 s
        ...
        g.sent          # accepted sends, in order (failed/duplicate requests not included)
        g.requests      # every request, incl. GETs, failures and duplicates, with "status"
        g.duplicate_keys  # how many sends repeated an Idempotency-Key already answered

Endpoints:
* `POST /{version}/{id}/messages` (also `/me/messages`): WhatsApp answer
  `{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}`
  when the body has `messaging_product`, else Messenger's `{"recipient_id", "message_id"}`.
  A repeated `Idempotency-Key` gets the first answer again and is not a new send.
* `GET /{version}/{id}`: `{"id", "name"}`, or `{"id", "display_phone_number",
  "verified_name"}` when `fields` asks for display_phone_number.

Standalone for demos: `python -m tests.fakes.graph --port 8099`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

DEFAULT_VERSION = "v21.0"

# Meta's error bodies for the failures tests script most often (code -> type, message).
_ERRORS: dict[int, tuple[str, str]] = {
    1: ("OAuthException", "An unknown error occurred"),
    2: ("OAuthException", "Service temporarily unavailable"),
    4: ("OAuthException", "Application request limit reached"),
    10: ("OAuthException", "Permission denied"),
    100: ("OAuthException", "Invalid parameter"),
    190: ("OAuthException", "Error validating access token: The session has been invalidated."),
    551: ("OAuthException", "This person isn't available right now."),
    613: ("OAuthException", "Calls to this api have exceeded the rate limit."),
    130429: ("OAuthException", "Rate limit hit"),
    131000: ("OAuthException", "Something went wrong"),
    131026: ("OAuthException", "Message undeliverable"),
    131047: ("OAuthException", "Re-engagement message"),
    131056: ("OAuthException", "(Business Account, Consumer Account) pair rate limit hit"),
}
_DEFAULT_CODE_FOR_STATUS = {400: 100, 401: 190, 403: 10, 429: 130429, 500: 131000, 503: 2}


def meta_error(
    code: int, message: str | None = None, *, subcode: int | None = None
) -> dict[str, Any]:
    """A Graph error body as Meta sends it."""
    kind, default_message = _ERRORS.get(code, ("OAuthException", "An error occurred"))
    error: dict[str, Any] = {
        "message": message or default_message,
        "type": kind,
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(10),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if code >= 130000:  # WhatsApp errors carry error_data.details
        error["error_data"] = {"messaging_product": "whatsapp", "details": error["message"]}
    return {"error": error}


@dataclass
class _Failure:
    status: int
    code: int | None
    retry_after: float | str | None
    message: str | None
    subcode: int | None


@dataclass
class _Delay:
    seconds: float
    after_send: bool


class FakeGraph:
    """The fake server and its scriptable state (see the module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = DEFAULT_VERSION,
        tokens: set[str] | None = None,
    ) -> None:
        self.host, self.port, self.version = host, port, version
        self.tokens: set[str] | None = tokens
        """When set, only these Bearer tokens are accepted (else 401 with code 190)."""
        self.names: dict[str, str] = {}
        """Node id -> name answered by GET (default "Fake Page <id>")."""
        self.sent: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.duplicate_keys = 0
        self._answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._failures: deque[_Failure] = deque()
        self._delays: deque[_Delay] = deque()
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # -- scripting --------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 400,
        code: int | None = None,
        retry_after: float | str | None = None,
        message: str | None = None,
        subcode: int | None = None,
    ) -> None:
        """Make the next `n` requests (any endpoint) fail with a Meta error body.

        `code` defaults by status: 400->100, 401->190, 403->10, 429->130429, 500->131000,
        503->2. `retry_after` (seconds or an HTTP date) is sent as `Retry-After`.
        """
        code = code if code is not None else _DEFAULT_CODE_FOR_STATUS.get(status, 1)
        failure = _Failure(status, code, retry_after, message, subcode)
        self._failures.extend(failure for _ in range(n))

    def delay_next(self, seconds: float, n: int = 1, *, after_send: bool = False) -> None:
        """Delay the answer of the next `n` requests, e.g. to make a client time out.

        With `after_send=True` the send is accepted (recorded and remembered under its
        Idempotency-Key) before the delay: "Meta sent it but the answer was lost".
        """
        self._delays.extend(_Delay(seconds, after_send) for _ in range(n))

    def reset(self) -> None:
        """Forget everything recorded and scripted (tokens and names are kept)."""
        self.sent.clear()
        self.requests.clear()
        self.duplicate_keys = 0
        self._answers.clear()
        self._failures.clear()
        self._delays.clear()

    # -- running ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.version}"

    async def start(self) -> FakeGraph:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the real port when bound to 0
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGraph:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the HTTP side ----------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{node}/messages", self._post_messages)
        app.router.add_get("/{version}/{node}", self._get_node)
        return app

    def _record(self, request: web.Request, body: Any, status: int) -> dict[str, Any]:
        headers = {k: v for k, v in request.headers.items()}
        if "Authorization" in headers:
            scheme = headers["Authorization"].split(" ", 1)[0]
            headers["Authorization"] = f"{scheme} ***"  # never keep the token itself
        record = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": headers,
            "json": body,
            "idempotency_key": request.headers.get("Idempotency-Key"),
            "status": status,
        }
        self.requests.append(record)
        return record

    def _auth_ok(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if self.tokens is None:
            return bool(token)
        return token in self.tokens

    async def _prelude(self, request: web.Request, body: Any) -> web.Response | None:
        """Scripted delay/failure and the token check shared by every endpoint."""
        if self._delays and not self._delays[0].after_send:
            await asyncio.sleep(self._delays.popleft().seconds)
            if request.transport is None or request.transport.is_closing():
                # The client gave up (timed out): like Meta, act as if nothing arrived.
                self._record(request, body, 499)
                return web.Response(status=499)
        if self._failures:
            failure = self._failures.popleft()
            self._record(request, body, failure.status)
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            error = meta_error(failure.code or 1, failure.message, subcode=failure.subcode)
            return web.json_response(error, status=failure.status, headers=headers)
        if not self._auth_ok(request):
            self._record(request, body, 401)
            return web.json_response(meta_error(190, "Invalid OAuth access token."), status=401)
        return None

    async def _post_messages(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        refusal = await self._prelude(request, body)
        if refusal is not None:
            return refusal
        if not isinstance(body, dict):
            self._record(request, body, 400)
            return web.json_response(meta_error(100, "Invalid JSON body"), status=400)

        key = request.headers.get("Idempotency-Key")
        if key and key in self._answers:
            self.duplicate_keys += 1
            self._record(request, body, 200)["duplicate"] = True
            status, answer = self._answers[key]
            return web.json_response(answer, status=status)

        answer = self._answer_send(body)
        if answer is None:
            self._record(request, body, 400)
            return web.json_response(
                meta_error(100, "The parameter recipient is required"), status=400
            )
        record = self._record(request, body, 200)
        record["response"] = answer
        self.sent.append(record)
        if key:
            self._answers[key] = (200, answer)
        if self._delays and self._delays[0].after_send:
            await asyncio.sleep(self._delays.popleft().seconds)
        return web.json_response(answer)

    @staticmethod
    def _answer_send(body: dict[str, Any]) -> dict[str, Any] | None:
        if "messaging_product" in body:
            to = body.get("to")
            if not to:
                return None
            return {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": "wamid." + secrets.token_urlsafe(24)}],
            }
        recipient = (body.get("recipient") or {}).get("id")
        if not recipient:
            return None
        return {"recipient_id": recipient, "message_id": "m_" + secrets.token_urlsafe(24)}

    async def _get_node(self, request: web.Request) -> web.Response:
        refusal = await self._prelude(request, None)
        if refusal is not None:
            return refusal
        node = request.match_info["node"]
        self._record(request, None, 200)
        fields = request.query.get("fields", "")
        if "display_phone_number" in fields or "verified_name" in fields:
            return web.json_response(
                {
                    "id": node,
                    "display_phone_number": "+1 555-078-3881",
                    "verified_name": self.names.get(node, "Fake Business"),
                }
            )
        return web.json_response({"id": node, "name": self.names.get(node, f"Fake Page {node}")})


async def _serve(host: str, port: int, version: str, tokens: set[str] | None) -> None:
    async with FakeGraph(host=host, port=port, version=version, tokens=tokens) as graph:
        print(graph.base_url, flush=True)
        await asyncio.Event().wait()  # until Ctrl-C


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Meta Graph API for demos and tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--token", action="append", help="accepted Bearer token (repeatable)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.host, args.port, args.version, set(args.token or []) or None))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

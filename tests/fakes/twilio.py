"""A local fake of Twilio's Messages API, answering in Twilio's real shapes.

    async with FakeTwilio() as tw:                 # 127.0.0.1, a free port
        config["baseUrl"] = tw.base_url
        tw.accounts[ACCOUNT_SID] = AUTH_TOKEN      # basic auth accountSid:authToken
        tw.fail_next(1, status=503)                # next send fails before creating anything
        tw.lose_answer_next(1)                     # next send is created, but answered 503
        tw.invalid_numbers.add("+15005550001")     # sends there: 400, code 21211
        ...
        tw.sent         # created messages (repeats of an answered Idempotency-Key excluded)
        tw.requests     # every request with its HTTP status

Endpoints (`/2010-04-01`):
* `POST /Accounts/{AccountSid}/Messages.json` (form `To`, `From` or `MessagingServiceSid`,
  `Body`, `StatusCallback`, `MediaUrl`): 201 with the Message resource (`sid`, `status`:
  "queued", ...). A repeated `Idempotency-Key` gets the first answer again.
* `GET /Accounts/{AccountSid}.json`: the Account resource.
Errors are Twilio's: `{"code", "message", "more_info", "status"}`.

`signature(auth_token, url, params)` signs a webhook the way Twilio does (written here
independently of the product's own code, so the two check each other).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import deque
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from aiohttp import web

API = "/2010-04-01"
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + name1 + value1 + ...)), names sorted."""
    text = url + "".join(key + params[key] for key in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    ).decode()


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    retry_after: str | None


class FakeTwilio:
    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}
        self.invalid_numbers: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.duplicate_keys = 0
        self._answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._failures: deque[_Failure] = deque()
        self._lose_answers = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post(API + "/Accounts/{sid}/Messages.json", self._send)
        app.router.add_get(API + "/Accounts/{sid}.json", self._account)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self,
        count: int,
        *,
        status: int = 503,
        code: int | None = None,
        message: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        default = {429: (20429, "Too Many Requests"), 503: (20503, "Service Unavailable")}
        fallback = default.get(status, (20500, "Internal Server Error"))
        for _ in range(count):
            self._failures.append(
                _Failure(status, code or fallback[0], message or fallback[1], retry_after)
            )

    def lose_answer_next(self, count: int) -> None:
        """The next sends are created (they would reach the phone) but answered 503, as when
        the connection drops after Twilio acted: only the Idempotency-Key saves a double."""
        self._lose_answers += count

    def to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["to"] == number]

    def _authorised(self, request: web.Request) -> web.Response | None:
        sid = request.match_info["sid"]
        header = request.headers.get("Authorization", "")
        ok = False
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            ok = user == sid and self.accounts.get(sid) == password
        if ok:
            return None
        return web.json_response(twilio_error(20003, "Authenticate", 401), status=401)

    def _record(self, request: web.Request, status: int, form: dict[str, str] | None) -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "form": form,
                "idempotencyKey": request.headers.get("Idempotency-Key"),
                "status": status,
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        denied = self._authorised(request)
        if denied is not None:
            self._record(request, 401, form)
            return denied
        key = request.headers.get("Idempotency-Key")
        if key and key in self._answers:
            self.duplicate_keys += 1
            status, body = self._answers[key]
            self._record(request, status, form)
            return web.json_response(body, status=status)
        if self._failures:
            failure = self._failures.popleft()
            self._record(request, failure.status, form)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            return web.json_response(
                twilio_error(failure.code, failure.message, failure.status),
                status=failure.status,
                headers=headers,
            )
        to = form.get("To", "")
        if not to or not _E164.fullmatch(to) or to in self.invalid_numbers:
            error = twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
            self._record(request, 400, form)
            return web.json_response(error, status=400)
        if not form.get("Body") and not form.get("MediaUrl"):
            self._record(request, 400, form)
            return web.json_response(
                twilio_error(21602, "Message body is required.", 400), status=400
            )
        if not form.get("From") and not form.get("MessagingServiceSid"):
            error = twilio_error(21603, "A 'From' or 'MessagingServiceSid' is required.", 400)
            self._record(request, 400, form)
            return web.json_response(error, status=400)
        body = self._message(request.match_info["sid"], form)
        self.sent.append({**body, "statusCallback": form.get("StatusCallback"), "form": form})
        if key:
            self._answers[key] = (201, body)
        if self._lose_answers:
            self._lose_answers -= 1
            self._record(request, 503, form)
            return web.json_response(twilio_error(20503, "Service Unavailable", 503), status=503)
        self._record(request, 201, form)
        return web.json_response(body, status=201)

    @staticmethod
    def _message(account_sid: str, form: dict[str, str]) -> dict[str, Any]:
        sid = new_sid("SM")
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "1" if form.get("MediaUrl") else "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"{API}/Accounts/{account_sid}/Messages/{sid}/Media.json"
            },
            "to": form.get("To"),
            "uri": f"{API}/Accounts/{account_sid}/Messages/{sid}.json",
        }

    async def _account(self, request: web.Request) -> web.Response:
        denied = self._authorised(request)
        if denied is not None:
            self._record(request, 401, None)
            return denied
        sid = request.match_info["sid"]
        self._record(request, 200, None)
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        return web.json_response(
            {
                "sid": sid,
                "owner_account_sid": sid,
                "friendly_name": "Test shop account",
                "status": "active",
                "type": "Full",
                "date_created": now,
                "date_updated": now,
                "uri": f"{API}/Accounts/{sid}.json",
                "subresource_uris": {"messages": f"{API}/Accounts/{sid}/Messages.json"},
            }
        )

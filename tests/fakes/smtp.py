"""A real local SMTP server (aiosmtpd) that records what it receives and fails on request.

    with LocalSmtp(users={"shop": "s3cret"}) as smtp:   # 127.0.0.1, a free port
        config = {"host": "127.0.0.1", "port": smtp.port, "security": "none", ...}
        smtp.fail_next(1, "451 4.3.0 Try again later")  # next DATA answered with this
        smtp.reject("gone@example.com")                 # RCPT TO answered 550 5.1.1
        ...
        smtp.messages          # accepted e-mails: [Received(mail_from, rcpt_tos, message)]
        smtp.data_attempts     # every DATA command, accepted or not

The server runs in aiosmtpd's own thread and event loop, so the code under test (the web app
in-process, the worker in a subprocess) talks to it over a real socket.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        """The decoded text of the `text/<subtype>` part (line ends as "\\n")."""
        for part in self.message.walk():
            if part.get_content_type() == f"text/{subtype}":
                return str(part.get_content()).replace("\r\n", "\n")
        raise AssertionError(f"no text/{subtype} part in {self.message['Message-ID']}")


@dataclass
class _Handler:
    rejected: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    messages: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.rejected.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTPServer, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            self.data_attempts += 1
            if self.failures:
                return self.failures.pop(0)
            raw = envelope.original_content or envelope.content or b""
            raw = raw if isinstance(raw, bytes) else raw.encode()
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=parsed,
                    raw=raw,
                )
            )
        return "250 2.0.0 Ok: queued"


class LocalSmtp:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = users or {}
        self.port = free_port()
        self.handler = _Handler()
        kwargs: dict[str, Any] = {}
        if self.users:
            # A test server has no certificate to offer: AUTH is allowed in clear.
            kwargs |= {"authenticator": self._authenticate, "auth_require_tls": False}
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )

    def _authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def __enter__(self) -> LocalSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()

    def fail_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        with self.handler.lock:
            self.handler.failures.extend([reply] * count)

    def reject(
        self, address: str, reply: str = "550 5.1.1 Recipient address rejected: User unknown"
    ) -> None:
        self.handler.rejected[address.lower()] = reply

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def data_attempts(self) -> int:
        return self.handler.data_attempts

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records messages and misbehaves on request.

Tests set ``server.mode`` to make the next transactions fail the way real servers do: reply
with a code at MAIL, RCPT or DATA, drop the connection during DATA, or stall past the client's
timeout. ``server.stop()``/``server.start()`` take it down and bring it back on the same port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PASSWORD = "s3cret-smtp-password"
USERNAME = "digest"


@dataclass
class Mode:
    """How the server answers. ``reply_at`` is "mail", "rcpt" or "data"."""

    reply_at: str | None = None
    reply: str = ""
    drop_during_data: bool = False
    stall_seconds: float = 0.0


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        mode = self._server.mode
        if mode.reply_at == "mail":
            return mode.reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        mode = self._server.mode
        if mode.reply_at == "rcpt":
            return mode.reply
        if address in self._server.refuse_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mode = self._server.mode
        if mode.stall_seconds:
            await asyncio.sleep(mode.stall_seconds)
        if mode.drop_during_data:
            server.transport.close()
            return "451 dropped"
        if mode.reply_at == "data":
            return mode.reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._server.lock:
            self._server.received.append(message)
            self._server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """The server and what it received."""

    def __init__(self, *, auth: bool = False) -> None:
        self.mode = Mode()
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_recipients: set[str] = set()
        self.lock = threading.Lock()
        self._auth = auth
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the server's port."""
        options: dict[str, Any] = {}
        if self._auth:
            options = {"authenticator": _authenticate, "auth_require_tls": False}
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=5, **options
        )
        self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def smtp_config(self, **overrides: Any) -> dict[str, Any]:
        """The ``smtp:`` config section that points at this server."""
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "timeout": "3s"} | (
            overrides
        )


def smtp_server_fixture(*, auth: bool = False) -> Iterator[SmtpServer]:
    """Run a server for one test."""
    server = SmtpServer(auth=auth)
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""Fixtures for the platform adapters: sample posts, and real local servers for
the two platforms that are plain protocols (SMTP, a signed webhook)."""

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from PIL import Image

from civicpost.platforms import MediaItem, Outgoing

KEY = "6f1c2e7a-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
CREATED = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)


def make_outgoing(**changes: Any) -> Outgoing:
    values: dict[str, Any] = {
        "key": KEY,
        "text": "Pools open Saturday at 10am. Details: https://city.example/pools #SummerInTheCity",
        "title": "Pools open",
        "created_at": CREATED,
    }
    values.update(changes)
    return Outgoing(**values)


@pytest.fixture
def image(tmp_path: Path) -> MediaItem:
    # Stored as civicpost stores uploads: named by content hash, no extension.
    path = tmp_path / ("ab" * 32)
    Image.new("RGB", (40, 30), "blue").save(path, "PNG")
    return MediaItem(path=path, mime_type="image/png", alt_text="An empty outdoor pool under a blue sky")


def fake_jwt(subject: str, *, ttl: int = 7200) -> str:
    """An unsigned JWT that atproto can read its expiry from."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part({'sub': subject, 'iat': now, 'exp': now + ttl, 'scope': 'com.atproto.appPass'})}.c2ln"


# --- a real SMTP server -----------------------------------------------------


@dataclass
class SmtpBehaviour:
    messages: list[Envelope] = field(default_factory=list)
    rcpt_reply: str | None = None  # e.g. "450 mailbox busy" to refuse recipients
    data_reply: str | None = None


class _Handler:
    def __init__(self, behaviour: SmtpBehaviour) -> None:
        self.behaviour = behaviour

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str, options: Any) -> str:
        if self.behaviour.rcpt_reply:
            return self.behaviour.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        self.behaviour.messages.append(envelope)
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"comms", b"right")
    # handled=False: aiosmtpd then answers 535 itself (handled=True would stay silent).
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    behaviour: SmtpBehaviour

    def settings(self) -> dict[str, Any]:
        return {
            "smtp_host": self.host,
            "smtp_port": self.port,
            "starttls": False,
            "from": "news@city.example",
            "to": ["residents@lists.city.example", "press@city.example"],
        }


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    behaviour = SmtpBehaviour()
    # aiosmtpd's readiness probe connects to the configured port, so port 0 won't do.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        _Handler(behaviour),
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, behaviour)
    finally:
        controller.stop()


# --- a real webhook receiver that checks the signature ----------------------

WEBHOOK_SECRET = "s3cret-for-tests"


@dataclass
class Receiver:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    # What to answer next: status, headers, body; signature failures answer 401 regardless.
    reply: tuple[int, dict[str, str], bytes] = (201, {}, b'{"id": "hook-42"}')


def _receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = self.headers.get("X-Civicpost-Timestamp", "").encode() + b"." + body
            expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, self.headers.get("X-Civicpost-Signature", ""))
            receiver.received.append({"headers": dict(self.headers), "json": json.loads(body), "valid": valid})
            status, headers, payload = receiver.reply if valid else (401, {}, b'{"error": "bad signature"}')
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/civicpost"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

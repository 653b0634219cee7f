"""Real local servers: an SMTP server (aiosmtpd) and a webhook receiver that
checks the signature, for the two platforms that are plain protocols, and
the city's site serving images at their signed addresses, for platforms
that fetch a post's image themselves. The fixtures that start them are in
conftest.py."""

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

# --- a real SMTP server -----------------------------------------------------


@dataclass
class SmtpBehaviour:
    messages: list[Envelope] = field(default_factory=list)
    rcpt_reply: str | None = None  # e.g. "450 mailbox busy" to refuse recipients
    data_reply: str | None = None
    data_delay_s: float = 0.0  # a server slower than the client's timeout
    recipients_asked: int = 0


class _Handler:
    def __init__(self, behaviour: SmtpBehaviour) -> None:
        self.behaviour = behaviour

    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str, options: Any) -> str:
        self.behaviour.recipients_asked += 1
        if self.behaviour.rcpt_reply:
            return self.behaviour.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.behaviour.data_delay_s:
            await asyncio.sleep(self.behaviour.data_delay_s)
            return "451 4.4.2 Timeout while the client waited"
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


@contextmanager
def running_smtp_server() -> Iterator[SmtpServer]:
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
    delay_s: float = 0.0  # a receiver slower than the client's timeout


def _receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = self.headers.get("X-Civicpost-Timestamp", "").encode() + b"." + body
            expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, self.headers.get("X-Civicpost-Signature", ""))
            entry = {"headers": dict(self.headers), "json": json.loads(body), "valid": valid}
            receiver.received.append(entry)
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            status, headers, payload = receiver.reply if valid else (401, {}, b'{"error": "bad signature"}')
            entry["status"] = status
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up waiting (the late-answer case)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _receiver_handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/civicpost"
    with _serving(server):
        yield receiver


# --- the city's site, serving images at signed addresses ------------------------


@dataclass
class ImageHost:
    base_url: str
    images: dict[str, bytes] = field(default_factory=dict)  # media id -> JPEG bytes
    fetched: list[str] = field(default_factory=list)


@contextmanager
def running_image_host() -> Iterator[ImageHost]:
    host = ImageHost(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            media_id = self.path.split("?", 1)[0].removeprefix("/media/signed/")
            data = host.images.get(media_id)
            host.fetched.append(media_id)
            self.send_response(200 if data else 404)
            self.send_header("Content-Type", "image/jpeg" if data else "text/plain")
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    with _serving(server):
        yield host


@contextmanager
def _serving(server: ThreadingHTTPServer) -> Iterator[None]:
    # A short poll: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


# --- a Slack/Teams-style incoming webhook: unsigned JSON, scripted answers ------


@dataclass
class ChatHook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200


@contextmanager
def running_chat_hook() -> Iterator[ChatHook]:
    hook = ChatHook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.received.append(json.loads(body))
            status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    with _serving(server):
        yield hook

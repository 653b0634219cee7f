"""A real HTTP receiver on 127.0.0.1 for webhook deliveries, with scripted answers."""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    body: dict
    headers: dict[str, str]
    signature_ok: bool
    at: float = 0.0  # time.monotonic() when the request arrived


@dataclass
class Receiver:
    secret: str
    url: str = ""
    received: list[Received] = field(default_factory=list)
    # Answers to give, in order; once used up, 200. Each is (status, headers, hang_seconds).
    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    seen_keys: dict[str, int] = field(default_factory=dict)
    # What the answer gives as the post's address; None: http://receiver.example/<n>.
    answer_url: str | None = None

    def answer(self) -> tuple[int, dict[str, str], float]:
        return self.script.pop(0) if self.script else (200, {}, 0.0)

    def published(self) -> list[Received]:
        return [r for r in self.received if r.headers.get("x-civicpost-event") == "publish" and r.signature_ok]


def start_receiver(secret: str) -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(secret=secret)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            arrived = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            signed = headers.get("x-civicpost-timestamp", "").encode() + b"." + raw
            expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(expected, headers.get("x-civicpost-signature", ""))
            with lock:
                status, extra, hang = receiver.answer()
                receiver.received.append(Received(json.loads(raw or b"{}"), headers, ok, arrived))
                key = headers.get("idempotency-key", "")
                first = receiver.seen_keys.setdefault(key, len(receiver.seen_keys) + 1)
            if hang:
                time.sleep(hang)
            url = receiver.answer_url or f"http://receiver.example/{first}"
            body = json.dumps({"id": f"hook-{first}", "url": url}).encode()
            try:
                self.send_response(status if ok else 401)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server

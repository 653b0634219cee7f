"""A real image server on 127.0.0.1, standing in for a city's /media/signed/
addresses, from which the Meta fakes fetch a post's image."""

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


def picture(kind: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, kind)
    return out.getvalue()


@dataclass
class Images:
    base: str = ""
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (content type, bytes)
    fetched: list[str] = field(default_factory=list)

    def add(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        self.files[f"/media/signed/{name}"] = (content_type, data)
        return f"{self.base}/media/signed/{name}?expires=9999999999&sig=test"


@contextmanager
def image_server() -> Iterator[Images]:
    images = Images()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            images.fetched.append(path)
            content_type, data = images.files.get(path, ("text/plain", b""))
            self.send_response(200 if path in images.files else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    images.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield images
    finally:
        server.shutdown()
        server.server_close()

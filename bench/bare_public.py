"""The bare baseline for bench/public.py: the same public pages as bytes rendered
beforehand, answered by a minimal ASGI app (no routing, no database, no
templates), 304 for a matching If-None-Match. Run under the same uvicorn, with
the same number of processes, as civicpost:

    BENCH_PAGES=pages.json uvicorn --factory bare_public:create_app --workers 2
"""

import base64
import json
import os


def create_app():
    with open(os.environ["BENCH_PAGES"]) as f:
        stored = json.load(f)
    # Each page as civicpost sent it (its coding too), with its ETag.
    pages = {
        path: (page["status"],
               [*((k.encode(), v.encode()) for k, v in page["headers"]), (b"etag", page["etag"].encode())],
               base64.b64decode(page["body"]), page["etag"].encode())
        for path, page in stored.items()
    }
    pages["/healthz"] = (200, [(b"content-type", b"application/json")], b'{"status":"ok"}', b"")
    missing = (404, [(b"content-type", b"text/plain")], b"not found", b"")

    async def app(scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        status, headers, body, etag = pages.get(scope["path"], missing)
        if etag and any(k == b"if-none-match" and v == etag for k, v in scope["headers"]):
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app

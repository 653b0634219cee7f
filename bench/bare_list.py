"""The floor for the list route: Starlette and the stdlib sqlite3 module, nothing else.

It answers the same GET /api/v1/announcements (same filters, same cursor
format, same JSON fields) with the same SQL shape civicpost runs: newest
first, keyset on id, joined with the department's slug and the author's email.
There is no sign-in, no ORM and no threadpool, so the gap between this and
civicpost is what those cost. Run by bench/api.py as:

    BENCH_SQLITE_PATH=/path/to.db uvicorn --factory --app-dir bench bare_list:create_app
"""

import base64
import os
import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

COLUMNS = "a.id, d.slug, a.title, a.state, a.emergency, a.language, u.email, a.publish_at, a.created_at, a.updated_at"
FIELDS = ["id", "department", "title", "state", "emergency", "language", "author", "publish_at", "created_at", "updated_at"]


def _cursor_id(cursor: str) -> int:
    kind, _, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
    if kind != "a":
        raise ValueError(cursor)
    return int(value)


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{last_id}".encode()).decode().rstrip("=")


def create_app() -> Starlette:
    # One connection used from the event loop: each query takes well under a
    # millisecond, and hopping to a thread would cost more than it saves.
    db = sqlite3.connect(os.environ["BENCH_SQLITE_PATH"], check_same_thread=False)
    db.execute("PRAGMA query_only=ON")

    async def announcements(request: Request) -> JSONResponse:
        q = request.query_params
        limit = min(int(q.get("limit", 50)), 200)
        where, params = [], []
        if "state" in q:
            where.append("a.state = ?")
            params.append(q["state"])
        if "department" in q:
            where.append("a.department_id = (SELECT id FROM departments WHERE slug = ?)")
            params.append(q["department"])
        if "emergency" in q:
            where.append("a.emergency = ?")
            params.append(q["emergency"] == "true")
        if "cursor" in q:
            where.append("a.id < ?")
            params.append(_cursor_id(q["cursor"]))
        sql = (
            f"SELECT {COLUMNS} FROM announcements a"
            " LEFT OUTER JOIN departments d ON d.id = a.department_id"
            " LEFT OUTER JOIN users u ON u.id = a.author_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY a.id DESC LIMIT ?"
        )
        rows = db.execute(sql, [*params, limit + 1]).fetchall()
        items = [dict(zip(FIELDS, row, strict=True)) for row in rows[:limit]]
        next_cursor = _encode(items[-1]["id"]) if len(rows) > limit else None
        return JSONResponse({"items": items, "next_cursor": next_cursor})

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/api/v1/announcements", announcements), Route("/healthz", healthz)])

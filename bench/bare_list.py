"""The floor for the list and create routes: Starlette and the database's driver (the stdlib
sqlite3 module, or psycopg for PostgreSQL), nothing else.

It answers the same GET /api/v1/announcements (same filters, same cursor
format, same JSON fields) with the same SQL shape civicpost runs: newest
first, keyset on id, joined with the department's slug and the author's email.
And the same POST /api/v1/announcements: the department and its channels
looked up, then in one transaction the rows a new draft is in civicpost (the
announcement, a target per channel, version 1 with its content as JSON, an
audit event), answered 201 with the draft as JSON.
There is no sign-in, no validation beyond the department and channels, no
previews, no ORM and no threadpool, so the gap between this and civicpost is
what those cost. `create_fastapi_app` serves the same list query through
FastAPI and civicpost's response model: the floor the framework sets. Run by
bench/api.py as:

    BENCH_SQLITE_PATH=/path/to.db uvicorn --factory --app-dir bench bare_list:create_app
    BENCH_SQLITE_PATH=/path/to.db uvicorn --factory --app-dir bench bare_list:create_fastapi_app
    BENCH_POSTGRES_URL=postgresql://... uvicorn --factory --app-dir bench bare_list:create_app   # and so on
"""

import base64
import json
import os
import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

COLUMNS = "a.id, d.slug, a.title, a.state, a.emergency, a.language, u.email, a.publish_at, a.created_at, a.updated_at"
FIELDS = ["id", "department", "title", "state", "emergency", "language", "author", "publish_at", "created_at",
          "updated_at"]


class _Database:
    """A connection for reads and one for writes, both used from the event loop (each statement takes
    well under a millisecond; a hop to a thread would cost more), and how the driver spells things."""

    def __init__(self) -> None:
        dsn = os.environ.get("BENCH_POSTGRES_URL")
        self.postgres = dsn is not None
        if dsn is not None:
            import psycopg

            self.reader: Any = psycopg.connect(dsn, autocommit=True)
            self.writer: Any = psycopg.connect(dsn, autocommit=True)  # BEGIN and COMMIT said, as for SQLite
            # Instants as text, as SQLite stores them (civicpost's list reads them as text too).
            self.columns = COLUMNS.replace("a.publish_at, a.created_at, a.updated_at",
                                           "a.publish_at::text, a.created_at::text, a.updated_at::text")
        else:
            path = os.environ["BENCH_SQLITE_PATH"]
            self.reader = sqlite3.connect(path, check_same_thread=False)
            self.reader.execute("PRAGMA query_only=ON")
            # civicpost's settings for SQLite (WAL is the file's own).
            self.writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
                self.writer.execute(f"PRAGMA {pragma}")
            self.columns = COLUMNS

    def sql(self, text: str) -> str:
        """`text` with ? for each parameter, as this driver takes it."""
        return text.replace("?", "%s") if self.postgres else text

    def instant(self, moment: datetime) -> Any:
        """An instant as civicpost writes it: in SQLite as UTC text "YYYY-MM-DD HH:MM:SS.ffffff"."""
        return moment if self.postgres else moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _cursor_id(cursor: str) -> int:
    kind, _, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
    if kind != "a":
        raise ValueError(cursor)
    return int(value)


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a:{last_id}".encode()).decode().rstrip("=")


def _page(db: _Database, *, limit: int, state: str | None, department: str | None,
          emergency: bool | None, cursor: str | None) -> dict:
    where, params = [], []
    if state is not None:
        where.append("a.state = ?")
        params.append(state)
    if department is not None:
        where.append("a.department_id = (SELECT id FROM departments WHERE slug = ?)")
        params.append(department)
    if emergency is not None:
        where.append("a.emergency = ?")
        params.append(emergency)
    if cursor is not None:
        where.append("a.id < ?")
        params.append(_cursor_id(cursor))
    sql = (
        f"SELECT {db.columns} FROM announcements a"
        " LEFT OUTER JOIN departments d ON d.id = a.department_id"
        " LEFT OUTER JOIN users u ON u.id = a.author_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY a.id DESC LIMIT ?"
    )
    rows = db.reader.execute(db.sql(sql), [*params, limit + 1]).fetchall()
    items = [dict(zip(FIELDS, row, strict=True)) for row in rows[:limit]]
    return {"items": items, "next_cursor": _encode(items[-1]["id"]) if len(rows) > limit else None}


def _create(db: _Database, given: dict) -> tuple[int, dict]:
    """A new draft's rows, as civicpost writes them: (status, answer)."""
    writer = db.writer
    found = writer.execute(db.sql(
        "SELECT d.id, (SELECT user_id FROM user_departments WHERE department_id = d.id ORDER BY user_id LIMIT 1)"
        " FROM departments d WHERE d.slug = ?"), [given["department"]]).fetchone()
    if found is None:
        return 422, {"detail": "unknown department"}
    department_id, author_id = found
    wanted = sorted(set(given["channels"]))
    channels = writer.execute(db.sql(
        f"SELECT id, name, platform FROM channels WHERE department_id = ? AND active"
        f" AND id IN ({', '.join('?' * len(wanted))}) ORDER BY id"), [department_id, *wanted]).fetchall()
    if len(channels) != len(wanted):
        return 422, {"detail": "some channels cannot be used"}
    moment = datetime.now(UTC)
    now = db.instant(moment)
    content = {"title": given["title"], "body": given["body"], "language": "en",
               "channels": [{"id": i, "name": name, "platform": platform} for i, name, platform in channels]}
    writer.execute("BEGIN")
    try:
        (announcement_id,) = writer.execute(db.sql(
            "INSERT INTO announcements (department_id, author_id, title, body, language, emergency, state,"
            " legal_hold, version, created_at, updated_at) VALUES (?, ?, ?, ?, 'en', false, 'draft', false, 1, ?, ?)"
            " RETURNING id"), [department_id, author_id, given["title"], given["body"], now, now]).fetchone()
        writer.cursor().executemany(db.sql("INSERT INTO announcement_targets (announcement_id, channel_id)"
                                           " VALUES (?, ?)"),
                                    [(announcement_id, channel_id) for channel_id, _, _ in channels])
        writer.execute(db.sql(
            "INSERT INTO announcement_versions (announcement_id, number, author_id, created_at, reason,"
            " fingerprint, content) VALUES (?, 1, ?, ?, 'create', ?, ?" + ("::json)" if db.postgres else ")")),
            [announcement_id, author_id, now, "0" * 64, json.dumps(content)])
        writer.execute(db.sql(
            "INSERT INTO audit_events (at, actor_id, actor, action, object_type, object_id)"
            " VALUES (?, ?, 'bench', 'create', 'announcement', ?)"), [now, author_id, announcement_id])
        writer.execute("COMMIT")
    except BaseException:
        writer.execute("ROLLBACK")
        raise
    stamp = moment.isoformat()
    return 201, {"id": announcement_id, "department": given["department"], "state": "draft", **content,
                 "created_at": stamp, "updated_at": stamp}


def create_fastapi_app() -> Any:
    """The same list query under FastAPI, its parameters declared and its answer
    validated and written through civicpost's own response model
    (AnnouncementPage), on the event loop: what the framework and the typed
    response the design card and issue 19 keep cost a list page, before any of
    civicpost's own work (sign-in, visibility, its SQL through SQLAlchemy)."""
    from fastapi import FastAPI, Query

    from civicpost.web.shapes import AnnouncementPage

    db = _Database()
    app = FastAPI()

    @app.get("/api/v1/announcements", response_model=AnnouncementPage)
    async def announcements(state: str | None = None, department: str | None = None, emergency: bool | None = None,
                            limit: Annotated[int, Query(ge=1, le=200)] = 50,
                            cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict:
        return _page(db, limit=limit, state=state, department=department, emergency=emergency, cursor=cursor)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    return app


def create_app() -> Starlette:
    db = _Database()

    async def announcements(request: Request) -> JSONResponse:
        q = request.query_params
        return JSONResponse(_page(db, limit=min(int(q.get("limit", 50)), 200), state=q.get("state"),
                                  department=q.get("department"),
                                  emergency=q["emergency"] == "true" if "emergency" in q else None,
                                  cursor=q.get("cursor")))

    async def create(request: Request) -> JSONResponse:
        status, answer = _create(db, await request.json())
        return JSONResponse(answer, status_code=status)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/api/v1/announcements", announcements, methods=["GET"]),
                             Route("/api/v1/announcements", create, methods=["POST"]),
                             Route("/healthz", healthz)])

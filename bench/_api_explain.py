"""The plans of the exact SQL the list route runs, and how many queries a request makes.

The SQL is captured from drafting.listing.list_page itself (a
before_cursor_execute listener), not written out by hand, so a change to the
query shape shows up here on the next run.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _api_seed import Seeded
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from civicpost import accounts
from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker
from civicpost.drafting import listing
from civicpost.models import State


@dataclass(frozen=True)
class Case:
    label: str
    as_staff: bool = False
    state: State | None = None
    department: str | None = None
    emergency: bool | None = None
    deep: bool = False


CASES = [
    Case("first page (approver, no filter)"),
    Case("filtered: state=published", state=State.published),
    Case("filtered: department=police&state=submitted", department="police", state=State.submitted),
    Case("filtered: emergency=true", emergency=True),
    Case("staff: own departments only", as_staff=True),
    Case("deep cursor (oldest tenth, no filter)", deep=True),
    Case("deep cursor + state=submitted", deep=True, state=State.submitted),
]


@contextmanager
def _captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _list_sql(engine: Engine, session: Session, seeded: Seeded, case: Case) -> tuple[str, Any]:
    email = "pat@city.example" if case.as_staff else "comms@city.example"
    user = accounts.user_by_email(session, email)
    department = accounts.department_by_slug(session, case.department) if case.department else None
    cursor = listing.encode_cursor(seeded.min_id + (seeded.max_id - seeded.min_id) // 20) if case.deep else None
    with _captured(engine) as statements:
        listing.list_page(
            session, user=user, state=case.state, department=department, emergency=case.emergency,
            limit=50, cursor=cursor,
        )
    (found,) = [s for s in statements if "FROM announcements" in s[0]]
    return found


def explain(url: str, seeded: Seeded) -> str:
    engine = make_engine(url)
    lines: list[str] = []
    try:
        postgres = engine.dialect.name == "postgresql"
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        with make_sessionmaker(engine)() as session:
            for n, case in enumerate(CASES):
                statement, parameters = _list_sql(engine, session, seeded, case)
                if n == 0:
                    lines += ["  SQL of the list route (first page):", *("    " + l for l in statement.splitlines())]
                plan = session.connection().exec_driver_sql(prefix + statement, parameters).all()
                lines.append(f"  -- {case.label}")
                lines += [f"    {line}" for row in plan if (line := _plan_line(row, postgres))]
    finally:
        engine.dispose()
    return "\n".join(lines)


# The lines of a PostgreSQL plan that say how rows were found, how many were
# thrown away and how long it took; the join bookkeeping is left out.
_KEPT = ("Limit", "Scan", "Sort", "Index Cond", "Filter", "Rows Removed", "Execution Time")


def _plan_line(row: Any, postgres: bool) -> str | None:
    if postgres:
        line = row[0]
        return line if any(word in line for word in _KEPT) else None
    # SQLite: (id, parent, notused, detail); a parent > 0 is a nested step.
    return ("  " if row[1] else "") + row[3]


def queries_per_request(url: str, seeded: Seeded, workdir: Path, secret: str) -> str:
    """Statements one list request and one create make, counted in-process."""
    from fastapi.testclient import TestClient

    from civicpost.web import create_app

    engine = make_engine(url)
    settings = Settings(env="test", database_url=url, secret_key=secret, media_dir=workdir / "media")
    lines = []
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            requests = [
                ("GET list, approver", "get", "/api/v1/announcements?limit=50", seeded.approver_token, None),
                ("GET list, department filter", "get", "/api/v1/announcements?limit=50&department=police",
                 seeded.approver_token, None),
                ("GET list, staff", "get", "/api/v1/announcements?limit=50", seeded.staff_token, None),
                ("POST create", "post", "/api/v1/announcements", seeded.staff_token,
                 {"department": seeded.staff_department, "title": "Counting queries", "body": "One draft.",
                  "channels": seeded.staff_channels}),
            ]
            for label, method, path, token, body in requests:
                with _captured(engine) as statements:
                    response = client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                response.raise_for_status()
                kinds = [s.split(None, 1)[0].upper() for s, _ in statements]
                lines.append(f"  {label:<28} {len(statements)} statements: {' '.join(kinds)}")
    finally:
        engine.dispose()
    return "\n".join(lines)

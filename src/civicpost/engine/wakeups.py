"""Waking a worker when another process commits new work, instead of polling.

PostgreSQL: LISTEN for the NOTIFY that approvals and retries send. SQLite: a
cheap `PRAGMA data_version` read every 50 ms, which changes when any other
connection commits.
"""

import logging
import threading

from sqlalchemy import Engine

from civicpost.db import NOTIFY_CHANNEL  # what db.wake_after_commit sends

log = logging.getLogger(__name__)


def watch_commits(engine: Engine, wake: threading.Event, stopping: threading.Event) -> None:
    """Set `wake` whenever another process commits, until `stopping` is set."""
    if engine.dialect.name == "postgresql":
        _listen_postgres(engine, wake, stopping)
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        last = None
        while not stopping.is_set():
            version = cursor.execute("PRAGMA data_version").fetchone()[0]
            if last is not None and version != last:
                wake.set()
            last = version
            stopping.wait(0.05)
    finally:
        raw.close()


def _listen_postgres(engine: Engine, wake: threading.Event, stopping: threading.Event) -> None:
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    while not stopping.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                while not stopping.is_set():
                    for _ in connection.notifies(timeout=1.0):
                        wake.set()
        except Exception:  # noqa: BLE001 - reconnect; the safety poll covers the gap
            log.exception("LISTEN connection lost; listening again")
            stopping.wait(2)

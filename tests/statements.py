"""Which thread ran each statement: the tests of what runs on the event loop and what in a request thread."""

import threading
from contextlib import contextmanager

from sqlalchemy import event

REQUEST_THREAD = "civicpost-request"  # web/deps.py's request threads' names begin so


@contextmanager
def statements_by_thread(engine):
    """(first words of each statement, the name of the thread that ran it)"""
    seen: list[tuple[str, str]] = []

    def note(conn, cursor, statement, params, context, executemany):
        seen.append((" ".join(statement.split()[:3]).upper(), threading.current_thread().name))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)

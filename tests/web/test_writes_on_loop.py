"""A new draft is written on the event loop on SQLite, without the trip through a request thread
(web/deps.py one_trip's `on_loop`, db.lock_now_or_never), and only when that cannot make the loop
wait: with another writer holding SQLite's lock it waits for it on a request thread, and on
PostgreSQL (where a write may wait for a row another transaction holds) it always does."""

import sqlite3
import threading
import time

from sqlalchemy import func, select

from civicpost.models import Announcement
from tests.statements import REQUEST_THREAD, statements_by_thread


def _writers(seen) -> set[str]:
    return {thread for words, thread in seen if words.startswith("INSERT INTO ANNOUNCEMENTS")}


def _draft(city) -> dict:
    return {"department": "parks", "title": "Pool opens Saturday", "body": "Lifeguards on duty all day.",
            "channels": city.parks_channels}


def test_a_new_draft_is_written_on_the_loop_on_sqlite_and_in_a_request_thread_on_postgresql(
        client, city, engine, is_postgres):
    with statements_by_thread(engine) as seen:
        r = client.post("/api/v1/announcements", json=_draft(city), headers=city.parks_staff.auth)
    assert r.status_code == 201, r.text
    writers = _writers(seen)
    assert len(writers) == 1, seen
    assert writers.pop().startswith(REQUEST_THREAD) == is_postgres, seen


def test_with_another_writer_holding_sqlites_lock_the_draft_waits_for_it_in_a_request_thread(
        client, city, engine, sessions, is_postgres):
    if is_postgres:
        return  # PostgreSQL's writes always take a thread (the test above)
    other = sqlite3.connect(engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as the worker holds it while it records an outcome
    answers: list = []
    with statements_by_thread(engine) as seen:
        posting = threading.Thread(target=lambda: answers.append(
            client.post("/api/v1/announcements", json=_draft(city), headers=city.parks_staff.auth)))
        posting.start()
        time.sleep(0.5)
        assert not answers  # waiting for the lock, not refused
        other.execute("COMMIT")
        posting.join(timeout=30)
    other.close()
    assert answers and answers[0].status_code == 201, answers
    writers = _writers(seen)
    assert writers and all(t.startswith(REQUEST_THREAD) for t in writers), seen
    with sessions() as session:  # written once: the try on the loop left nothing behind
        assert session.scalar(select(func.count()).select_from(Announcement)) == 1

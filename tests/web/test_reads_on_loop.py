"""A list page is read on the event loop, without the trip through a request thread (web/deps.py
one_trip's `on_loop`), and only when that cannot make the loop wait: a search, a pool with no
connection idle and the token's last use (a write) go through the request threads as before."""

from contextlib import ExitStack

from sqlalchemy import event, select

from civicpost import tokens
from civicpost.models import ApiToken
from tests.statements import REQUEST_THREAD, statements_by_thread


def threads_reading_announcements(seen) -> set[str]:
    return {thread for words, thread in seen if words.startswith("SELECT ANNOUNCEMENTS.ID")}


def test_a_list_page_is_read_on_the_loop_and_the_tokens_use_still_written_in_a_thread(
        client, city, engine, sessions, draft):
    draft()
    tokens.touched.clear()
    with sessions() as session:
        session.execute(ApiToken.__table__.update().values(last_used_at=None))
        session.commit()
    with statements_by_thread(engine) as seen:
        r = client.get("/api/v1/announcements", headers=city.parks_staff.auth)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    readers = threads_reading_announcements(seen)
    assert readers and not any(t.startswith(REQUEST_THREAD) for t in readers), seen
    writers = {thread for words, thread in seen if words.startswith("UPDATE API_TOKENS")}
    assert writers and all(t.startswith(REQUEST_THREAD) for t in writers), seen
    with sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == city.parks_staff.id))


def test_a_search_goes_through_a_request_thread(client, city, engine, draft):
    draft(title="Pool opens")
    with statements_by_thread(engine) as seen:
        r = client.get("/api/v1/announcements", params={"q": "pool"}, headers=city.parks_staff.auth)
    assert [i["title"] for i in r.json()["items"]] == ["Pool opens"]
    readers = threads_reading_announcements(seen)
    assert readers and all(t.startswith(REQUEST_THREAD) for t in readers), seen


def test_with_no_connection_idle_the_loop_does_not_wait_for_one(client, city, engine, draft):
    draft()
    client.get("/api/v1/announcements", headers=city.parks_staff.auth)  # the pool has idle connections now
    with ExitStack() as held:
        while engine.pool.checkedin():
            held.enter_context(engine.connect())
        with statements_by_thread(engine) as seen:
            r = client.get("/api/v1/announcements", headers=city.parks_staff.auth)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    readers = threads_reading_announcements(seen)
    assert readers and all(t.startswith(REQUEST_THREAD) for t in readers), seen


def test_a_staff_members_list_page_is_three_plain_reads_on_one_connection(client, city, engine, draft):
    # The sign-in reads four columns of the person (a Reader), not the whole User; then their
    # departments and the page itself, each one indexed statement, all on one connection.
    draft()
    client.get("/api/v1/announcements", headers=city.parks_staff.auth)  # the token's first use written
    seen: list[tuple[str, int]] = []

    def note(conn, cursor, statement, params, context, executemany):
        seen.append((" ".join(statement.split()[:4]).upper(), id(conn.connection.dbapi_connection)))

    event.listen(engine, "before_cursor_execute", note)
    try:
        r = client.get("/api/v1/announcements", headers=city.parks_staff.auth)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    assert [words for words, _ in seen] == [
        "SELECT USERS.ID, USERS.EMAIL, USERS.ROLE,",
        "SELECT USER_DEPARTMENTS.DEPARTMENT_ID FROM USER_DEPARTMENTS",
        "SELECT ANNOUNCEMENTS.ID, ANNOUNCEMENTS.TITLE, ANNOUNCEMENTS.STATE,",
    ], seen
    assert len({connection for _, connection in seen}) == 1, seen

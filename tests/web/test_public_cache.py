"""The public pages and feeds are kept rendered (web/public_cache.py): strong ETags, 304s
and repeats without rendering, gzip and brotli, Cache-Control sized to a retraction's
second, and every kept answer dropped the moment something residents see changes."""

import asyncio
import datetime as dt
import gzip
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import brotli
import httpx
import pytest

from civicpost import public_site
from civicpost.db import transaction, utcnow
from civicpost.engine.worker import Worker
from civicpost.models import Delivery, Department, Topic
from civicpost.web import public_cache
from civicpost.web.public_cache import PageStore, PublicCache, keep
from tests.factories import create_approved, create_published_alert, create_published_post, make_alert

PUBLIC = ["/", "/directory", "/feed.atom", "/feed.json"]
CACHE_CONTROL = "public, max-age=1, stale-while-revalidate=1"


def published(sessions, city, remote_id: str = "site-1") -> int:
    delivery = create_published_post(sessions, city, channel_id=city.parks_channels[0], remote_id=remote_id,
                                     published_at=utcnow())
    with sessions() as session:
        return session.get(Delivery, delivery).announcement_id


def renders(app) -> int:
    return app.state.public_pages.renders


def test_each_public_answer_has_a_strong_etag_and_a_matching_request_gets_304_without_rendering(
        app, client, city, sessions):
    a = published(sessions, city)
    for path in [*PUBLIC, f"/announcements/{a}"]:
        first = client.get(path)
        assert first.status_code == 200, path
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/"), path
        assert first.headers["cache-control"] == CACHE_CONTROL
        before = renders(app)
        again = client.get(path)
        assert again.content == first.content and again.headers["etag"] == etag
        not_modified = client.get(path, headers={"If-None-Match": f'"other", {etag}'})
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert not_modified.headers["etag"] == etag and not_modified.headers["cache-control"] == CACHE_CONTROL
        assert renders(app) == before, f"{path} was rendered again for a kept answer"
        assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_feeds_and_pages_come_brotli_or_gzip_as_the_client_takes_them_each_with_its_own_etag(client, city, sessions):
    for n in range(3):
        published(sessions, city, f"site-{n}")
    for path in ["/feed.atom", "/feed.json", "/"]:
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.headers["vary"] == "accept-encoding"
        br = client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert br.headers["content-encoding"] == "br"
        gz = client.get(path, headers={"Accept-Encoding": "gzip, br;q=0"})
        assert gz.headers["content-encoding"] == "gzip"
        # httpx decodes what it was sent: the same bytes, in three codings with three ETags.
        assert br.content == gz.content == plain.content
        assert len({plain.headers["etag"], br.headers["etag"], gz.headers["etag"]}) == 3
        with client.stream("GET", path, headers={"Accept-Encoding": "br"}) as streamed:
            assert brotli.decompress(b"".join(streamed.iter_raw())) == plain.content
        with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as streamed:
            assert gzip.decompress(b"".join(streamed.iter_raw())) == plain.content
        # Any coding's ETag names the same page.
        assert client.get(path, headers={"If-None-Match": gz.headers["etag"],
                                         "Accept-Encoding": "br"}).status_code == 304


def test_publishing_shows_at_once_and_a_retraction_answers_410_with_its_notice_and_leaves_every_list(
        app, client, city, sessions):
    first = published(sessions, city, "site-1")
    for path in PUBLIC:
        client.get(path)
    second = published(sessions, city, "site-2")
    for path in ["/", "/feed.atom", "/feed.json"]:
        assert f"/announcements/{second}" in client.get(path).text, path
    assert client.get(f"/announcements/{first}").status_code == 200
    client.post(f"/api/v1/announcements/{first}/retract", headers=city.approver.auth,
                json={"reason": "Wrong date."}).raise_for_status()
    page = client.get(f"/announcements/{first}")
    assert page.status_code == 410 and "Wrong date." in page.text
    assert page.headers["cache-control"] == CACHE_CONTROL
    # A 410 is sent whole, never "not modified".
    assert client.get(f"/announcements/{first}", headers={"If-None-Match": page.headers["etag"]}).status_code == 410
    for path in ["/", "/feed.atom", "/feed.json"]:
        text = client.get(path).text
        assert f"/announcements/{first}" not in text and f"/announcements/{second}" in text, path


def test_what_the_worker_publishes_replaces_the_kept_pages(client, city, sessions, settings, engine):
    for path in PUBLIC:
        client.get(path)
    a = create_approved(client, city, title="Pool opens Saturday", channels=[city.parks_channels[0]])
    worker = Worker(settings, engine=engine, concurrency=2)
    worker.start()
    try:
        # Kept pages would stand a minute (KEEP_SECONDS) had the worker's outcome not changed the version.
        deadline = time.monotonic() + 15
        while f"/announcements/{a['id']}" not in client.get("/feed.json").text:
            assert time.monotonic() < deadline, "the published announcement never reached the kept feed"
            time.sleep(0.05)
    finally:
        worker.stop(timeout=10)
    for path in ["/", "/feed.atom"]:
        assert f"/announcements/{a['id']}" in client.get(path).text


def test_a_renamed_department_shows_at_once_and_a_page_that_did_not_change_is_rendered_again_only_then(
        app, client, city, sessions):
    published(sessions, city)
    client.get("/directory")
    client.get("/directory")
    before = renders(app)
    with transaction(sessions) as session:
        session.query(Department).filter_by(slug="parks").one().name = "Parks and Recreation"
    assert "Parks and Recreation" in client.get("/directory").text
    assert renders(app) == before + 1


def test_topic_feeds_are_kept_and_a_retraction_or_a_renamed_topic_shows_at_once(app, client, city, sessions):
    """What feed readers and calendars poll during a storm: /t/{slug}/feed.atom, feed.json, calendar.ics."""
    first = published(sessions, city, "site-1")
    paths = ["/t/parks/feed.atom", "/t/parks/feed.json", "/t/parks/calendar.ics"]
    for path in paths:
        assert client.get(path).status_code == 200, path
    before = renders(app)
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200 and answer.headers["cache-control"] == CACHE_CONTROL, path
        assert client.get(path, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304, path
    assert renders(app) == before
    assert f"/announcements/{first}" in client.get("/t/parks/feed.json").text
    client.post(f"/api/v1/announcements/{first}/retract", headers=city.approver.auth,
                json={"reason": "Wrong date."}).raise_for_status()
    for path in paths[:2]:
        assert f"/announcements/{first}" not in client.get(path).text, path
    with transaction(sessions) as session:
        session.query(Topic).filter_by(slug="parks").one().name = "Parks and pools"
    assert client.get("/t/parks/feed.json").json()["title"].endswith(": Parks and pools")
    # An unknown topic is not kept: each answer is the route's 404.
    assert client.get("/t/nothing-here/feed.atom").status_code == 404


def test_an_alert_leaves_the_kept_pages_when_it_expires_with_nothing_written(client, city, sessions):
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    alert = create_published_alert(client, city, sessions, alert=make_alert(expires=soon.isoformat()))
    assert "Emergency alerts in effect" in client.get("/").text
    assert "has ended" not in client.get(f"/announcements/{alert['id']}").text.lower()
    time.sleep(max(0.0, (soon - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    assert "Emergency alerts in effect" not in client.get("/").text
    assert client.get(f"/announcements/{alert['id']}").text != ""


def test_after_a_change_the_answer_before_it_is_given_for_a_fifth_of_a_second_at_most(app, sessions):
    """While its new render is made in the background (web/public_cache.py, STALE_SECONDS)."""
    now = [100.0]
    store = PageStore(app.state.read_sessions, check_seconds=0.5, clock=lambda: now[0])
    store.check()
    store.put("/?", keep(200, b"text/html", b"<p>before</p>", version=store.version or "", until=time.time() + 60))
    assert store.get("/?")[1] is True
    with transaction(sessions) as session:
        public_site.changed(session)
    assert not store.due_for_check()
    now[0] += 0.5
    assert store.due_for_check()
    store.check()
    kept, fresh = store.get("/?")
    assert kept.forms["identity"].body == b"<p>before</p>" and fresh is False
    now[0] += 0.2
    assert store.get("/?") is None
    # With no check interval (every request reads the version) nothing stale is ever given.
    eager = PageStore(app.state.read_sessions, check_seconds=0)
    eager.check()
    eager.put("/?", keep(200, b"text/html", b"x", version=eager.version or "", until=time.time() + 60))
    with transaction(sessions) as session:
        public_site.changed(session)
    eager.check()
    assert eager.get("/?") is None


def test_a_process_no_one_asked_for_a_while_gives_nothing_from_before_a_change(app, sessions):
    """Seen in CI: with two serving processes, one answered the retracted page again seconds after the
    retraction, its first request since (the stale answer's fifth of a second counted from when the
    change was seen, not from when it was made)."""
    now = [100.0]
    store = PageStore(app.state.read_sessions, check_seconds=0.5, clock=lambda: now[0])
    store.check()
    store.put("/?", keep(200, b"text/html", b"<p>before</p>", version=store.version or "", until=time.time() + 60))
    with transaction(sessions) as session:
        public_site.changed(session)
    now[0] += 10  # nobody asked this process for ten seconds
    store.check()
    assert store.get("/?") is None
    # A check a little late (0.6 s after the last one) still gives the old answer only until 0.7 s after it.
    store.put("/?", keep(200, b"text/html", b"<p>then</p>", version=store.version or "", until=time.time() + 60))
    with transaction(sessions) as session:
        public_site.changed(session)
    now[0] += 0.6
    store.check()
    assert store.get("/?")[1] is False
    now[0] += 0.15  # 0.75 s after the last check that read the version before
    assert store.get("/?") is None


def test_a_check_that_read_before_a_change_cannot_bring_back_the_version_before_it(app, sessions):
    """Two requests check at once; the one that read first answers last (seen in CI: a retracted page
    was served again after it had gone)."""
    real, reads = app.state.read_sessions, []
    read_before, go_on = threading.Event(), threading.Event()

    @contextmanager
    def slow_first_read():
        with real() as session:
            reads.append(public_site.current(session))
            if len(reads) == 1:
                read_before.set()
                assert go_on.wait(10)
                yield SimpleNamespace(scalar=lambda _statement: reads[0])
            else:
                yield session

    store = PageStore(slow_first_read, check_seconds=0)
    slow = threading.Thread(target=store.check)
    slow.start()
    assert read_before.wait(10)
    with transaction(sessions) as session:
        public_site.changed(session)
    store.check()
    after = store.version
    assert after is not None and after != reads[0]
    store.put("/?", keep(200, b"text/html", b"<p>retracted</p>", version=after, until=time.time() + 60))
    go_on.set()
    slow.join(10)
    assert len(reads) == 2 and store.version == after
    assert store.get("/?")[1] is True


def test_a_stale_answer_is_sent_whole_and_no_cache_may_keep_it(settings, engine, city, sessions):
    """In the moment after a change (check interval 0.3 s here), the page before it goes out while it is
    rendered again: never as a 304 (a proxy would keep it another max-age) and with no-store.

    A reader asks every 20 ms from before the change until the new page shows, as a feed reader in a
    surge would: the old answers may go out only while the process has been asking lately (within a
    check interval of the change), so the reader must not pause while the change is written, however
    long a slow machine takes to write it."""
    from fastapi.testclient import TestClient

    from civicpost.web.app import create_app

    published(sessions, city, "site-1")
    with TestClient(create_app(settings.model_copy(update={"public_check_seconds": 0.3}), engine=engine)) as web:
        before = web.get("/feed.json")
        answers: list[tuple[int, str, str]] = []
        new_id: list[int] = []
        stop = threading.Event()

        def reader() -> None:
            deadline = time.monotonic() + 15
            while not stop.is_set() and time.monotonic() < deadline:
                got = web.get("/feed.json", headers={"If-None-Match": before.headers["etag"]})
                answers.append((got.status_code, got.headers["cache-control"], got.text))
                if new_id and f"/announcements/{new_id[0]}" in got.text:
                    return
                time.sleep(0.02)

        asking = threading.Thread(target=reader)
        asking.start()
        time.sleep(0.1)
        new_id.append(published(sessions, city, "site-2"))
        asking.join(20)
        stop.set()
        second = f"/announcements/{new_id[0]}"
    kinds = ["old-304" if status == 304 else "new" if second in body else
             "stale" if (status, control) == (200, "no-store") else f"other {status} {control}"
             for status, control, body in answers]
    assert kinds[-1] == "new" and answers[-1][1] == CACHE_CONTROL, kinds
    # 304s while the old page is current, then the old page whole with no-store, then the new one.
    assert "stale" in kinds, kinds
    first_stale = kinds.index("stale")
    assert set(kinds[:first_stale]) <= {"old-304"}, kinds
    assert set(kinds[first_stale:-1]) == {"stale"}, kinds


def test_made_up_queries_are_the_same_page_and_only_the_language_makes_another(app, client, city, sessions):
    a = published(sessions, city)
    client.get("/")
    client.get(f"/announcements/{a}")
    before = renders(app)
    for n in range(5):
        assert client.get(f"/?page={n}").status_code == 200
        assert client.get(f"/feed.json?x={n}").status_code == 200
        assert client.get(f"/announcements/{a}?utm_source=post{n}").status_code == 200
    assert renders(app) == before + 1  # the feed, once
    assert client.get(f"/announcements/{a}?lang=fr").status_code == 200
    assert client.get(f"/announcements/{a}?x=1&lang=fr").status_code == 200
    assert renders(app) == before + 2
    assert client.get(f"/announcements/{a}?lang=" + "x" * 17).status_code == 422


def test_other_answers_are_not_kept(app, client, city, sessions):
    before = renders(app)
    assert client.get("/announcements/999999").status_code == 404
    assert client.get("/announcements/999999").status_code == 404
    assert renders(app) == before + 2
    assert "etag" not in client.get("/healthz").headers


@pytest.mark.slow
def test_a_retraction_leaves_two_serving_processes_within_a_second(client, city, sessions, settings, tmp_path):
    """`civicpost serve --workers 2` keeps the pages rendered; the retraction commits in this process."""
    a = published(sessions, city, "site-1")
    published(sessions, city, "site-2")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=settings.database_url, CIVICPOST_ENV="development",
               CIVICPOST_SECRET_KEY=settings.secret_key.get_secret_value(), CIVICPOST_MEDIA_DIR=str(tmp_path / "media"))
    server = subprocess.Popen([str(Path(sys.executable).parent / "civicpost"), "serve", "--port", str(port),
                               "--workers", "2"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    paths = ["/", "/feed.atom", "/feed.json", f"/announcements/{a}"]
    try:
        with httpx.Client(base_url=base, timeout=5) as web:
            deadline = time.monotonic() + 60
            while True:
                try:
                    web.get("/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "civicpost serve did not start"
                    time.sleep(0.2)
            # Both processes have every page kept (new connections land on either).
            for _ in range(20):
                for path in paths:
                    assert httpx.get(base + path).status_code == 200
            client.post(f"/api/v1/announcements/{a}/retract", headers=city.approver.auth).raise_for_status()
            retracted = time.monotonic()
            gone: dict[str, float] = {}
            while len(gone) < len(paths) and time.monotonic() - retracted < 3:
                for path in paths:
                    # A fresh connection each time: either process may answer. Timed from when it was asked.
                    asked = time.monotonic()
                    answer = httpx.get(base + path)
                    if path.startswith("/announcements/"):
                        left = answer.status_code == 410
                    else:
                        left = f"/announcements/{a}\"" not in answer.text and f"/announcements/{a}<" not in answer.text
                    if left:
                        gone.setdefault(path, asked - retracted)
                    else:
                        gone.pop(path, None)  # shown again by the other process: not gone yet
            assert set(gone) == set(paths), gone
            assert max(gone.values()) < 1.0, gone
            # And from a second after the retraction it is gone on both, however the requests fell
            # between them above (a process not asked there may still be inside its second).
            time.sleep(max(0.0, retracted + 1.0 - time.monotonic()))
            for _ in range(20):
                assert httpx.get(base + paths[-1]).status_code == 410
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_background_render_waits_for_the_staff_requests_under_way_and_for_a_moment_at_most(
    app, sessions, monkeypatch
):
    """A render is pure Python for milliseconds, and a staff request beside it gets half the interpreter
    (bench/public.py: a create in a surge waited behind the renders after each publication). So after a
    change the kept page's new render starts once the requests under way that are not public pages have
    ended, or after GIVE_WAY_SECONDS if they go on; the page before the change goes out meanwhile."""
    now = [100.0]
    store = PageStore(app.state.read_sessions, check_seconds=0.5, clock=lambda: now[0])
    began: list[float] = []  # when each render of the feed began

    async def served(scope, receive, send) -> None:
        if scope["path"] == "/feed.json":
            began.append(time.monotonic())
            body = b'{"render": %d}' % len(began)
        else:  # a staff request, under way until the test lets it end
            await scope["state"]["go_on"].wait()
            body = b"{}"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    cache = PublicCache(served, store=store)

    async def ask(path: str, **state) -> tuple[str, bytes]:
        answer: dict = {"body": b""}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message) -> None:
            if message["type"] == "http.response.start":
                answer["control"] = dict(message["headers"]).get(b"cache-control", b"").decode()
            else:
                answer["body"] += message.get("body", b"")

        await cache({"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": [],
                     "state": state}, receive, send)
        return answer["control"], answer["body"]

    async def renders_by(deadline: float, count: int) -> bool:
        while len(began) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return len(began) >= count

    async def change_and_ask() -> float:
        with transaction(sessions) as session:
            public_site.changed(session)
        now[0] += 0.5  # the version is read again: the kept feed is stale, its new render due
        asked = time.monotonic()
        assert await ask("/feed.json") == ("no-store", b'{"render": %d}' % len(began))
        return asked

    async def scenario() -> None:
        assert await ask("/feed.json") == (CACHE_CONTROL, b'{"render": 1}')
        # While a staff request is under way, no render begins (however long it takes, up to the bound).
        monkeypatch.setattr(public_cache, "GIVE_WAY_SECONDS", 30.0)
        go_on = asyncio.Event()
        staff = asyncio.create_task(ask("/api/v1/announcements", go_on=go_on))
        await asyncio.sleep(0.05)
        await change_and_ask()
        assert not await renders_by(time.monotonic() + 0.5, 2)
        ended = time.monotonic()
        go_on.set()
        assert await staff == ("", b"{}")
        assert await renders_by(time.monotonic() + 5, 2) and began[1] - ended < 5
        assert await ask("/feed.json") == (CACHE_CONTROL, b'{"render": 2}')
        # One that goes on past the bound does not hold the public pages back longer.
        monkeypatch.setattr(public_cache, "GIVE_WAY_SECONDS", 0.3)
        go_on = asyncio.Event()
        staff = asyncio.create_task(ask("/api/v1/announcements", go_on=go_on))
        await asyncio.sleep(0.05)
        asked = await change_and_ask()
        assert await renders_by(time.monotonic() + 10, 3) and began[2] - asked >= 0.3
        assert not staff.done()
        go_on.set()
        await staff

    # A thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, scenario()).result()

"""Large image uploads decode outside any transaction, a bounded number at once,
without taking the API's request threads; past the bound they get 503.

To make "while decodes run" exact rather than a race, a decode is held open
after its real work (the real decode and re-encode of a large image made
here) until the test lets it go: what the test observes happens while the
held decodes are in progress.
"""

import io
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from civicpost import media
from civicpost.decoding import RETRY_AFTER_SECONDS
from civicpost.web.deps import REQUEST_THREADS
from tests.factories import PASSWORD, create_media
from tests.pages import csrf_of

SIDE = 2000  # 4 megapixels: 16 MB decoded, a tenth of a second to decode here
PROMPTLY = 5.0  # seconds; a request queued behind a held decode would wait for it (30 s)


def big_png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (shade, 120, 200)).save(out, "PNG")
    return out.getvalue()


class HeldDecodes:
    """Wraps the real re-encode: counts decodes in progress, then holds each until released."""

    def __init__(self, real) -> None:
        self.real = real
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.in_progress = 0
        self.most_at_once = 0
        self.started = threading.Semaphore(0)

    def __call__(self, image):
        with self.lock:
            self.in_progress += 1
            self.most_at_once = max(self.most_at_once, self.in_progress)
        try:
            result = self.real(image)
            self.started.release()
            assert self.release.wait(60), "the test never released the held decodes"
            return result
        finally:
            with self.lock:
                self.in_progress -= 1

    def wait_started(self, count: int) -> None:
        for _ in range(count):
            assert self.started.acquire(timeout=30), "a decode never started"


@pytest.fixture
def held(monkeypatch) -> Iterator[HeldDecodes]:
    holder = HeldDecodes(media.reencode)
    monkeypatch.setattr(media, "reencode", holder)
    yield holder
    holder.release.set()


def in_thread(work) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["response"] = work()
        finally:
            outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def upload(client: TestClient, person, shade: int):
    return create_media(client, person, big_png(shade), filename=f"big-{shade}.png")


def finished_promptly(thread: threading.Thread, outcome: dict):
    thread.join(PROMPTLY)
    assert not thread.is_alive(), f"still waiting after {PROMPTLY} s: it queued behind the decodes"
    return outcome["response"]


def test_while_large_images_decode_a_sign_in_and_an_api_write_finish_promptly(client, app, city, held):
    uploads = [in_thread(lambda: upload(client, city.parks_staff, 10))]
    held.wait_started(1)

    def sign_in():
        with TestClient(app) as browser:
            page = browser.get("/staff/login")
            return browser.post("/staff/login", data={"email": city.police_staff.email, "password": PASSWORD,
                                                      "csrf_token": csrf_of(page.text), "next": "/staff/"},
                                follow_redirects=False)

    signing_in = in_thread(sign_in)
    writing = in_thread(lambda: client.post("/api/v1/announcements", headers=city.police_staff.auth, json={
        "department": "police", "title": "Road closure", "body": "Main Street is closed on Sunday."}))
    assert finished_promptly(*signing_in).status_code == 303
    assert finished_promptly(*writing).status_code == 201
    # A second upload decodes alongside the first: nothing queues behind a decode.
    uploads.append(in_thread(lambda: upload(client, city.police_staff, 20)))
    held.wait_started(1)
    assert held.in_progress == 2  # both decodes still running

    held.release.set()
    answers = [finished_promptly(*u) for u in uploads]
    assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]


@pytest.fixture
def wide_app(settings, engine):
    """As many decode places as the API has request threads: the case where
    decoding on request threads would leave none for anything else."""
    from civicpost.web import create_app

    return create_app(settings.model_copy(update={"max_concurrent_decodes": REQUEST_THREADS}), engine=engine)


def test_decoding_images_leaves_the_api_request_threads_free_and_never_exceeds_the_bound(wide_app, city, held):
    with TestClient(wide_app) as client:
        uploads = [in_thread(lambda shade=shade: upload(client, city.parks_staff, shade))
                   for shade in range(REQUEST_THREADS + 2)]
        held.wait_started(REQUEST_THREADS)
        time.sleep(0.3)  # the two extra uploads are waiting for a place now
        assert held.in_progress == REQUEST_THREADS
        reading = in_thread(lambda: client.get("/api/v1/announcements", headers=city.parks_staff.auth))
        assert finished_promptly(*reading).status_code == 200
        held.release.set()
        answers = [finished_promptly(*u) for u in uploads]
    assert [r.status_code for r in answers] == [201] * (REQUEST_THREADS + 2)
    assert held.most_at_once == wide_app.state.decodes.peak == REQUEST_THREADS


def test_when_every_decode_place_stays_taken_an_upload_gets_503_with_retry_after(client, app, city, held):
    app.state.decodes.wait = 0.3
    uploads = [in_thread(lambda shade=shade: upload(client, city.parks_staff, shade)) for shade in (1, 2)]
    held.wait_started(2)
    refused = upload(client, city.parks_staff, 3)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert refused.headers["content-type"] == "application/problem+json" and refused.json()["title"] == "Service unavailable"
    assert f"Wait {RETRY_AFTER_SECONDS} seconds and send it again" in refused.json()["detail"]
    held.release.set()
    assert [finished_promptly(*u).status_code for u in uploads] == [201, 201]
    assert upload(client, city.parks_staff, 3).status_code == 201  # a moment later it goes through


def test_a_busy_staff_form_answers_503_and_shows_the_form_again_with_everything_typed(app, client, city, held, sign_in):
    app.state.decodes.wait = 0.3
    uploads = [in_thread(lambda shade=shade: upload(client, city.parks_staff, shade)) for shade in (1, 2)]
    held.wait_started(2)
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/announcements/new")
    r = browser.post("/staff/announcements/new", data={
        "csrf_token": csrf_of(page.text), "department": "parks", "title": "Pool opens Saturday",
        "body": "The Elm Street pool opens at 9 a.m.", "channels": [str(c) for c in city.parks_channels],
        "image_alt": "The pool, empty and sunny", "action": "save",
    }, files={"image_file": ("pool.png", big_png(40), "image/png")})
    assert r.status_code == 503 and r.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "send it again" in r.text and "choose the image again" in r.text
    assert 'value="Pool opens Saturday"' in r.text and "The Elm Street pool opens at 9 a.m." in r.text
    assert "The pool, empty and sunny" in r.text
    held.release.set()
    assert [finished_promptly(*u).status_code for u in uploads] == [201, 201]
    assert client.get("/api/v1/announcements", headers=city.parks_staff.auth).json()["items"] == []  # nothing half-saved


MEMORY_PROBE = textwrap.dedent("""
    import io, json, resource, sys, threading
    from PIL import Image
    from civicpost import media, uploads
    from civicpost.decoding import DecodeGate

    side, limit, count, media_dir = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    images = []
    for n in range(count):
        out = io.BytesIO()
        Image.new("RGB", (side, side), (n, 90, 160)).save(out, "PNG")
        images.append(out.getvalue())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gate = DecodeGate(limit, wait=120)
    work = [threading.Thread(target=gate.run, args=(lambda data=data: uploads.prepare(
        data, department_id=1, media_dir=media_dir, max_bytes=10**8),)) for data in images]
    for thread in work:
        thread.start()
    for thread in work:
        thread.join()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew_kib": after - before, "peak": gate.peak}))
""")


def test_memory_for_decoding_grows_with_the_bound_not_with_the_number_of_uploads(tmp_path):
    side, limit, count = 3000, 2, 8  # 36 MB a decode; eight at once would be ~290 MB
    decoded = media.BYTES_PER_PIXEL * side * side
    probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(side), str(limit), str(count), str(tmp_path)],
                           capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(probe.stdout)
    assert report["peak"] == limit
    assert report["grew_kib"] * 1024 < (limit + 1) * decoded, report

"""Records exports through the API and the staff page: administrators only, 202 and a row a
worker writes under its lease, progress and a download link, each bad input a 4xx saying what to fix."""

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from civicpost.db import utcnow
from civicpost.engine.worker import Worker
from civicpost.exports import bag, jobs, signing
from civicpost.models import AuditEvent
from tests.factories import create_approved, create_draft
from tests.pages import csrf_of

TODAY = utcnow().date()
RANGE = {"from": str(TODAY - timedelta(days=1)), "to": str(TODAY + timedelta(days=1))}


def test_only_an_admin_may_export_and_bad_ranges_say_what_to_fix(client, city):
    for person in (city.parks_staff, city.approver):
        assert client.post("/api/v1/exports", headers=person.auth, json=RANGE).status_code == 403
        assert client.get("/api/v1/exports", headers=person.auth).status_code == 403
    backwards = client.post("/api/v1/exports", headers=city.admin.auth, json={"from": "2026-03-02", "to": "2026-03-01"})
    assert backwards.status_code == 422 and "`to` must be on or after `from`" in backwards.json()["detail"]
    assert backwards.headers["content-type"].startswith("application/problem+json")
    not_a_date = client.post("/api/v1/exports", headers=city.admin.auth,
                             json={"from": "2026-02-30", "to": "2026-03-01"})
    assert not_a_date.status_code == 422 and "from" in not_a_date.text
    nowhere = client.post("/api/v1/exports", headers=city.admin.auth, json={**RANGE, "department": "zoo"})
    assert nowhere.status_code == 404 and "no department with slug 'zoo'" in nowhere.json()["detail"]
    assert client.post("/api/v1/exports", headers=city.admin.auth, json={**RANGE, "extra": 1}).status_code == 422
    assert client.get("/api/v1/exports/99", headers=city.admin.auth).status_code == 404
    assert client.get("/api/v1/exports/99999999999", headers=city.admin.auth).status_code == 422


def test_an_export_is_accepted_then_written_by_a_worker_with_progress_and_a_download(client, city, sessions, settings,
                                                                                   engine, tmp_path):
    create_approved(client, city, title="Pool opens")
    create_draft(client, city.parks_staff, title="Library hours")
    started = client.post("/api/v1/exports", headers=city.admin.auth, json={**RANGE, "department": "parks"})
    assert started.status_code == 202, started.text
    export = started.json()
    assert export["status"] == "pending" and export["download_url"] is None and export["department"] == "parks"
    early = client.get(f"/api/v1/exports/{export['id']}/download", headers=city.admin.auth)
    assert early.status_code == 409 and "not finished" in early.json()["detail"]

    worker = Worker(settings.model_copy(update={"export_dir": tmp_path / "exports"}), engine=engine, concurrency=1,
                    name="export-worker")
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while (shown := client.get(f"/api/v1/exports/{export['id']}", headers=city.admin.auth).json())["status"] \
                != "finished" and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        worker.stop(timeout=10)
    assert shown["status"] == "finished" and (shown["done"], shown["total"]) == (2, 2), shown
    assert shown["download_url"] == f"/api/v1/exports/{export['id']}/download"
    assert client.get(shown["download_url"], headers=city.approver.auth).status_code == 403
    got = client.get(shown["download_url"], headers=city.admin.auth)
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    saved = tmp_path / "downloaded.zip"
    saved.write_bytes(got.content)
    found = bag.verify(saved, signing.private_key(settings).public_key())
    assert found.valid, found.problems
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "export").order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [("export.requested", "admin@city.example"),
                                                     ("export.finished", "export-worker")]
    assert events[0].detail == {"from": RANGE["from"], "to": RANGE["to"], "department": "parks"}


def test_an_export_whose_worker_stopped_is_taken_over_after_its_lease(client, city, sessions, settings, tmp_path):
    client.post("/api/v1/exports", headers=city.admin.auth, json=RANGE).raise_for_status()
    from civicpost.db import transaction

    with transaction(sessions) as session:
        assert jobs.claim(session, owner="gone", now=utcnow(), lease_seconds=60) is not None
    with transaction(sessions) as session:
        assert jobs.claim(session, owner="second", now=utcnow(), lease_seconds=60) is None
    later = utcnow() + timedelta(seconds=61)
    with transaction(sessions) as session:
        taken = jobs.claim(session, owner="second", now=later, lease_seconds=60)
        assert taken is not None and taken.lease_owner == "second" and taken.attempts == 2


def test_the_page_lists_exports_and_starts_one_without_script(client, city, sign_in, sessions, settings, tmp_path):
    admin = sign_in(city.admin)
    page = admin.get("/staff/exports")
    assert page.status_code == 200 and "No exports yet" in page.text
    assert 'name="from"' in page.text and 'type="date"' in page.text and '<option value="parks"' in page.text
    bad = admin.post("/staff/exports", data={"csrf_token": csrf_of(page.text), "from": "31/01/2026", "to": "",
                                             "department": ""})
    assert bad.status_code == 422
    assert "The first day must be a real date written as YYYY-MM-DD" in bad.text
    assert "Enter the last day as a date" in bad.text and 'value="31/01/2026"' in bad.text
    done = admin.post("/staff/exports", data={"csrf_token": csrf_of(page.text), **RANGE, "department": "police"},
                      follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/staff/exports"
    listed = admin.get("/staff/exports").text
    assert "is waiting for a worker" in listed and "Waiting for a worker" in listed and "police" in listed
    assert jobs.run_once(sessions, settings.model_copy(update={"export_dir": tmp_path / "exports"}), owner="w")
    listed = admin.get("/staff/exports").text
    assert "Finished: 0 announcements" in listed and 'href="/staff/exports/1/download"' in listed
    got = admin.get("/staff/exports/1/download")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert Path(tmp_path / "exports" / "civicpost-export-1.zip").is_file()


def test_staff_and_approvers_cannot_open_the_page(city, sign_in):
    for person in (city.parks_staff, city.approver):
        assert sign_in(person).get("/staff/exports").status_code == 403

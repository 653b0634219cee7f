"""The approval queue as compact rows that open to previews and the decision, filtered by department."""

import re

from tests.factories import create_draft, create_submitted

HTML = {"accept": "text/html"}


def test_each_waiting_announcement_is_one_row_saying_who_what_when_where(sign_in, city, client):
    pool = create_submitted(client, city, title="Pool opens Saturday", publish_at="2030-07-04T09:00:00-04:00")
    boil = create_submitted(client, city, title="Boil water notice", emergency=True, channels=city.parks_channels)
    queue = sign_in(city.approver).get("/staff/approvals").text
    assert queue.count("<details") == 2
    assert f'<details id="queue-item-{boil["id"]}" open>' in queue, "an emergency opens by itself"
    assert f'<details id="queue-item-{pool["id"]}">' in queue, "the others stay compact"
    row = queue[queue.index("Pool opens Saturday"):]
    summary = row[:row.index("</summary>")]
    assert "Parks and Recreation" in summary and "by " in summary and "Thu 4 Jul 2030, 9:00 a.m. EDT" in summary
    words = " ".join(re.sub(r"<[^>]+>", " ", summary).replace(" ,", ",").split())
    assert "on City website, Webhook" in words and "no problems" in words
    assert queue.index("Boil water notice") < queue.index("Pool opens Saturday"), "emergencies first"


def test_the_queue_filters_by_department_and_refuses_an_unknown_one(sign_in, city, client):
    create_submitted(client, city, title="Pool opens Saturday")
    road = create_draft(client, city.police_staff, title="Road closure", department="police",
                        channels=city.police_channels)
    r = client.post(f"/api/v1/announcements/{road['id']}/submit", headers=city.police_staff.auth)
    assert r.status_code == 200, r.text
    approver = sign_in(city.approver)
    everything = approver.get("/staff/approvals").text
    assert "Pool opens Saturday" in everything and "Road closure" in everything
    police = approver.get("/staff/approvals?department=police").text
    assert "Road closure" in police and "Pool opens Saturday" not in police
    assert '<option value="police" selected>' in police and "1 announcement waiting from Police Department" in police
    wrong = approver.get("/staff/approvals?department=nowhere", headers=HTML)
    assert wrong.status_code == 422 and "there is no department" in wrong.text.lower()
    assert "<script" not in wrong.text.split("</main>")[0].split("<main")[-1]


def test_the_queue_follows_new_arrivals_without_a_reload(sign_in, city, client):
    approver = sign_in(city.approver)
    page = approver.get("/staff/approvals?department=parks").text
    assert 'data-live="/staff/approvals/live?department=parks"' in page
    first = approver.get("/staff/approvals/live?department=parks", headers=HTML)
    assert first.status_code == 200 and "Nothing is waiting for approval from Parks and Recreation" in first.text
    tag = first.headers["etag"]
    assert approver.get("/staff/approvals/live?department=parks",
                        headers={**HTML, "if-none-match": tag}).status_code == 304
    create_submitted(client, city, title="Pool opens Saturday")
    moved = approver.get("/staff/approvals/live?department=parks", headers={**HTML, "if-none-match": tag})
    assert moved.status_code == 200 and "Pool opens Saturday" in moved.text and 'name="csrf_token"' in moved.text
    assert sign_in(city.parks_staff).get("/staff/approvals/live", headers=HTML).status_code == 403

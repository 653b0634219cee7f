"""The approval queue as compact rows that open to previews and the decision, filtered by department."""


from tests.factories import create_draft, create_submitted

HTML = {"accept": "text/html"}


def test_each_waiting_announcement_is_one_row_saying_who_what_when_where(sign_in, city, client):
    create_submitted(client, city, title="Pool opens Saturday", publish_at="2030-07-04T09:00:00-04:00")
    create_submitted(client, city, title="Boil water notice", emergency=True, channels=city.parks_channels)
    queue = sign_in(city.approver).get("/staff/approvals").text
    assert queue.count("<details") == 2
    emergency = queue[queue.index("Boil water notice") - 400:queue.index("Pool opens Saturday")]
    assert "<details open>" in emergency, "an emergency opens by itself"
    pool = queue[queue.index("Pool opens Saturday") - 200:]
    assert "<details>" in pool[:300], "the others stay compact"
    summary = pool[:pool.index("</summary>")]
    assert "Parks and Recreation" in summary and "by " in summary and "Thu 4 Jul 2030, 9:00 a.m. EDT" in summary
    assert "on City website, Webhook" in summary and "no problems" in summary
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

"""An alert's follow-ups on the staff pages: the update and all-clear forms, the thread, and the admins'
wording page."""

from tests.factories import create_person, create_published_alert, grant_emergency_publisher
from tests.pages import csrf_of


def test_an_emergency_publisher_posts_an_update_and_the_all_clear_from_the_alerts_page(sign_in, city, client,
                                                                                      sessions):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    alert = create_published_alert(client, city, sessions)
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{alert['id']}")
    assert "Post an update" in page.text and "All clear" in page.text and "None yet" in page.text
    empty = browser.post(f"/staff/announcements/{alert['id']}/alert-update", follow_redirects=True,
                         data={"csrf_token": csrf_of(page.text), "body": "  "})
    assert "Write what has changed" in empty.text
    done = browser.post(f"/staff/announcements/{alert['id']}/alert-update", follow_redirects=True,
                        data={"csrf_token": csrf_of(page.text), "body": "Repairs by 6 p.m."})
    assert "Update posted" in done.text and "UPDATE: Repairs by 6 p.m." in done.text
    forged = browser.post(f"/staff/announcements/{alert['id']}/all-clear", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    cleared = browser.post(f"/staff/announcements/{alert['id']}/all-clear", follow_redirects=True,
                           data={"csrf_token": csrf_of(page.text), "body": ""})
    assert "All clear posted" in cleared.text and "Post an update" not in cleared.text
    thread = client.get(f"/api/v1/announcements/{alert['id']}/audit", headers=city.approver.auth).json()["items"]
    follow_up = next(e["detail"]["follow_up"] for e in thread if e["action"] == "all_clear")
    again = browser.post(f"/staff/announcements/{alert['id']}/all-clear", follow_redirects=True,
                         data={"csrf_token": csrf_of(page.text), "body": ""})
    assert "already ended" in again.text
    shown = browser.get(f"/staff/announcements/{follow_up}")
    assert f'href="/staff/announcements/{alert["id"]}"' in shown.text and "the all-clear" in shown.text
    assert f'href="/staff/announcements/{follow_up}/edit"' not in shown.text  # a follow-up goes out as posted


def test_staff_without_the_permission_see_the_thread_but_no_forms(sign_in, city, client, sessions):
    alert = create_published_alert(client, city, sessions)
    client.post(f"/api/v1/announcements/{alert['id']}/alert-update", headers=city.approver.auth,
                json={"body": "Repairs by 6 p.m."})
    plain = create_person(sessions, "staff", ("parks",))
    page = sign_in(plain).get(f"/staff/announcements/{alert['id']}")
    assert "Follow-ups of this alert" in page.text and "UPDATE: Repairs by 6 p.m." in page.text
    assert "Post an update" not in page.text


def test_an_admin_rewords_follow_ups_on_the_page_and_an_unknown_placeholder_is_named_beside_its_field(
        sign_in, city, client):
    browser = sign_in(city.admin)
    page = browser.get("/staff/admin/alert-wording")
    assert page.status_code == 200 and 'value="UPDATE: {body}"' in page.text
    bad = browser.post("/staff/admin/alert-wording", data={
        "csrf_token": csrf_of(page.text), "en.update": "UPDATE {when}: {body}", "en.all_clear": "ALL CLEAR: {body}",
        "en.correction": "CORRECTION: {body}", "en.correction_body": "Sent in error."})
    assert bad.status_code == 422 and "unknown placeholder {when}" in bad.text and 'id="f-en-update-error"' in bad.text
    good = browser.post("/staff/admin/alert-wording", follow_redirects=True, data={
        "csrf_token": csrf_of(page.text), "en.update": "Update: {body}", "en.all_clear": "ALL CLEAR: {body}",
        "en.correction": "CORRECTION: {body}", "en.correction_body": "Sent in error.", "new_language": "es",
        "new.update": "ACTUALIZACIÓN: {body}"})
    assert good.status_code == 200 and "Saved the wording" in good.text
    wording = client.get("/api/v1/alert-wording", headers=city.admin.auth).json()["languages"]
    assert wording["en"]["update"] == "Update: {body}" and wording["es"] == {"update": "ACTUALIZACIÓN: {body}"}
    assert sign_in(city.parks_staff).get("/staff/admin/alert-wording").status_code in (403, 404)

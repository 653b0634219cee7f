"""The approval queue: what waits, in what order, and approving or sending back from it."""

import re

from sqlalchemy import select

from civicpost.models import Announcement, Delivery, State
from tests.factories import create_submitted
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def state_of(sessions, announcement_id: int) -> str:
    with sessions() as session:
        return session.get(Announcement, announcement_id).state


def fingerprint_in(html: str, announcement_id: int) -> str:
    form = re.search(rf'action="/staff/announcements/{announcement_id}/approve".*?name="fingerprint" value="([0-9a-f]+)"',
                     html, re.S)
    assert form, "no approve form for this announcement"
    return form.group(1)


def test_the_queue_lists_emergencies_first_then_by_publish_time(sign_in, city, client, draft):
    later = create_submitted(client, city, title="Leaf pickup schedule", publish_at="2030-12-01T09:00:00-05:00")
    soon = create_submitted(client, city, title="Ice rink opening", publish_at="2030-11-20T09:00:00-05:00")
    urgent = create_submitted(client, city, title="Trail closed after storm", emergency=True,
                       publish_at="2030-12-24T09:00:00-05:00")
    draft(title="Still a draft")
    page = sign_in(city.approver).get("/staff/approvals")
    assert page.status_code == 200
    positions = [page.text.index(f'id="item-{a["id"]}-title"') for a in (urgent, soon, later)]
    assert positions == sorted(positions)
    assert "Still a draft" not in page.text
    # Times in the city's zone: 14:00 UTC on 1 December is 9 a.m. Eastern Standard Time.
    assert "Sun 1 Dec 2030, 9:00 a.m. EST" in page.text


def test_the_queue_is_for_approvers_only(sign_in, city):
    r = sign_in(city.parks_staff).get("/staff/approvals", headers=HTML)
    assert r.status_code == 403 and "<h1>Not allowed</h1>" in r.text and "approvers" in r.text


def test_an_approver_approves_from_the_queue(sign_in, city, client, sessions):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    page = browser.get("/staff/approvals")
    r = browser.post(f"/staff/announcements/{a['id']}/approve",
                     data={"csrf_token": csrf_of(page.text), "fingerprint": fingerprint_in(page.text, a["id"]), "back": "queue"})
    assert r.status_code == 200 and "Approved “Pool opens Saturday”" in r.text
    assert "Nothing is waiting for approval" in r.text
    assert state_of(sessions, a["id"]) == State.scheduled
    with sessions() as session:
        assert len(session.scalars(select(Delivery).where(Delivery.announcement_id == a["id"])).all()) == 2


def test_approving_a_version_that_changed_since_it_was_looked_at_is_refused(sign_in, city, client, sessions):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    page = browser.get("/staff/approvals")
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"body": "Now opens at 10 a.m."})
    r = browser.post(f"/staff/announcements/{a['id']}/approve",
                     data={"csrf_token": csrf_of(page.text), "fingerprint": fingerprint_in(page.text, a["id"])})
    assert 'role="alert"' in r.text and "changed after you looked at it" in r.text
    assert state_of(sessions, a["id"]) == State.submitted


def test_the_author_cannot_approve_their_own_announcement_and_is_told_why(sign_in, city, client, sessions):
    r = client.post("/api/v1/announcements", headers=city.admin.auth,
                    json={"department": "parks", "title": "Admin note", "body": "Parks office closed Monday.",
                          "channels": city.parks_channels})
    a = r.json()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.admin.auth)
    browser = sign_in(city.admin)
    page = browser.get("/staff/approvals")
    assert "another approver must decide" in page.text
    assert f'action="/staff/announcements/{a["id"]}/approve"' not in page.text
    r = browser.post(f"/staff/announcements/{a['id']}/approve",
                     data={"csrf_token": csrf_of(page.text), "fingerprint": a["fingerprint"]})
    assert r.status_code == 200 and "a second person who did not write or change it must approve it" in r.text
    assert state_of(sessions, a["id"]) == State.submitted


def test_approval_with_blocking_problems_is_refused_and_lists_them(sign_in, city, client, sessions):
    x = client.post("/api/v1/channels", headers=city.admin.auth,
                    json={"department": "parks", "platform": "x", "name": "Parks on X",
                          "credentials": {"oauth2_access_token": "t"}, "settings": {}}).json()["id"]
    a = create_submitted(client, city, body="The Elm Street pool opens Saturday.", channels=[x])
    # Submitting refuses it; an edit of a submitted announcement keeps it in the queue, problems and all.
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                 json={"body": "The Elm Street pool opens Saturday. " * 12})
    browser = sign_in(city.approver)
    page = browser.get("/staff/approvals")
    assert "counter-over" in page.text
    r = browser.post(f"/staff/announcements/{a['id']}/approve",
                     data={"csrf_token": csrf_of(page.text), "fingerprint": fingerprint_in(page.text, a["id"]), "back": "queue"})
    assert r.status_code == 422
    refusal = re.search(rf'<div class="error-summary" role="alert" id="refusal-{a["id"]}".*?</div>', r.text, re.S)
    assert refusal and "Not approved" in refusal.group(0) and "X allows 280" in refusal.group(0)
    assert state_of(sessions, a["id"]) == State.submitted


def test_sending_back_needs_a_reason_tied_to_its_field(sign_in, city, client, sessions):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    page = browser.get("/staff/approvals")
    r = browser.post(f"/staff/announcements/{a['id']}/reject", data={"csrf_token": csrf_of(page.text), "reason": "  "})
    assert r.status_code == 422
    field = re.search(rf'<textarea id="reject-reason-{a["id"]}"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in field and f"reject-reason-{a['id']}-error" in field
    assert state_of(sessions, a["id"]) == State.submitted


def test_a_reason_for_sending_back_reaches_the_author(sign_in, city, client, sessions):
    a = create_submitted(client, city)
    approver = sign_in(city.approver)
    page = approver.get("/staff/approvals")
    r = approver.post(f"/staff/announcements/{a['id']}/reject",
                      data={"csrf_token": csrf_of(page.text), "reason": "Say which entrance is open."})
    assert "Sent “Pool opens Saturday” back" in r.text
    assert state_of(sessions, a["id"]) == State.rejected
    author = sign_in(city.parks_staff)
    assert "Say which entrance is open." in author.get("/staff/").text
    own_page = author.get(f"/staff/announcements/{a['id']}").text
    assert "Sent back by the approver" in own_page and "Say which entrance is open." in own_page


def test_an_edit_after_approval_shows_what_changed_in_the_queue(sign_in, city, client, sessions):
    a = create_submitted(client, city, body="The Elm Street pool opens Saturday at 9 a.m.")
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                    json={"fingerprint": a["fingerprint"]})
    assert r.status_code == 200
    author = sign_in(city.parks_staff)
    form = author.get(f"/staff/announcements/{a['id']}/edit")
    r = author.post(f"/staff/announcements/{a['id']}/edit", follow_redirects=False, data={
        "csrf_token": csrf_of(form.text), "title": "Pool opens Saturday", "language": "en", "action": "save",
        "body": "The Elm Street pool opens Saturday at 10 a.m.", "channels": [str(c) for c in city.parks_channels]})
    assert r.status_code == 303
    assert state_of(sessions, a["id"]) == State.submitted
    queue = sign_in(city.approver).get("/staff/approvals").text
    assert "What changed since the last approved version" in queue
    assert re.search(r'<del><span class="visually-hidden">\[removed: </span>9<span class="visually-hidden">\]</span></del>', queue)
    assert re.search(r'<ins><span class="visually-hidden">\[added: </span>10<span class="visually-hidden">\]</span></ins>', queue)


def test_an_announcement_never_approved_shows_no_changes_section(sign_in, city, client):
    create_submitted(client, city)
    assert "What changed since" not in sign_in(city.approver).get("/staff/approvals").text


def edit_through_the_page(browser, announcement_id: int, city, body: str) -> None:
    form = browser.get(f"/staff/announcements/{announcement_id}/edit")
    r = browser.post(f"/staff/announcements/{announcement_id}/edit", follow_redirects=False, data={
        "csrf_token": csrf_of(form.text), "title": "Pool opens Saturday", "language": "en", "action": "save",
        "body": body, "channels": [str(c) for c in city.parks_channels]})
    assert r.status_code == 303, r.text


def test_an_approver_who_rewrote_the_words_on_the_edit_page_cannot_approve_them(sign_in, city, client, sessions, people):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    edit_through_the_page(browser, a["id"], city, "The pool stays closed all summer.")
    assert state_of(sessions, a["id"]) == State.submitted
    queue = browser.get("/staff/approvals")
    assert f'action="/staff/announcements/{a["id"]}/approve"' not in queue.text
    assert "You changed this announcement" in queue.text
    own = browser.get(f"/staff/announcements/{a['id']}")
    assert "Your decision" not in own.text and "another approver, who did not write or change it" in own.text
    # Posting the form anyway (an old tab, a crafted request) is refused too.
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    r = browser.post(f"/staff/announcements/{a['id']}/approve",
                     data={"csrf_token": csrf_of(queue.text), "fingerprint": seen, "back": "queue"})
    assert "a second person who did not write or change it must approve it" in r.text
    assert state_of(sessions, a["id"]) == State.submitted
    deputy = sign_in(people.person("approver"))
    page = deputy.get("/staff/approvals")
    r = deputy.post(f"/staff/announcements/{a['id']}/approve",
                    data={"csrf_token": csrf_of(page.text), "fingerprint": fingerprint_in(page.text, a["id"]), "back": "queue"})
    assert "Approved “Pool opens Saturday”" in r.text and state_of(sessions, a["id"]) == State.scheduled


def test_an_approver_whose_page_edit_voided_their_approval_cannot_approve_again(sign_in, city, client, sessions):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    queue = browser.get("/staff/approvals")
    browser.post(f"/staff/announcements/{a['id']}/approve",
                 data={"csrf_token": csrf_of(queue.text), "fingerprint": fingerprint_in(queue.text, a["id"]), "back": "queue"})
    assert state_of(sessions, a["id"]) == State.scheduled
    edit_through_the_page(browser, a["id"], city, "The pool opens Sunday instead, at noon.")
    assert state_of(sessions, a["id"]) == State.submitted
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert "Your decision" not in page.text
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    r = browser.post(f"/staff/announcements/{a['id']}/approve",
                     data={"csrf_token": csrf_of(page.text), "fingerprint": seen, "back": "announcement"})
    assert "a second person who did not write or change it must approve it" in r.text
    assert state_of(sessions, a["id"]) == State.submitted


def test_an_approve_form_without_the_reviewed_version_approves_nothing(sign_in, city, client, sessions):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    page = browser.get("/staff/approvals")
    r = browser.post(f"/staff/announcements/{a['id']}/approve", data={"csrf_token": csrf_of(page.text), "back": "queue"})
    assert "did not say which version you reviewed" in r.text
    assert state_of(sessions, a["id"]) == State.submitted


def test_the_dashboard_does_not_ask_an_approver_to_approve_what_they_changed(sign_in, city, client, people):
    a = create_submitted(client, city)
    edited = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth,
                          json={"body": "The Elm Street pool opens Saturday at 10 a.m."})
    assert edited.status_code == 200, edited.text
    own = sign_in(city.approver).get("/staff/")
    assert "Pool opens Saturday" not in own.text.split("waiting-heading", 1)[1].split("</section>", 1)[0]
    other = sign_in(people.person("approver")).get("/staff/")
    assert "Pool opens Saturday" in other.text.split("waiting-heading", 1)[1].split("</section>", 1)[0]

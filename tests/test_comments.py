"""Comments on an announcement: a question before approving and its answer,
through the API and the staff page, kept in the announcement's history."""

import pytest

from tests.factories import create_approved, create_submitted
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def comments_path(announcement_id: int) -> str:
    return f"/api/v1/announcements/{announcement_id}/comments"


def test_an_approver_asks_and_the_author_answers_and_both_read_the_conversation_oldest_first(client, city):
    a = create_submitted(client, city)
    asked = client.post(comments_path(a["id"]), headers=city.approver.auth,
                        json={"body": "Is the pool open on Sunday too?"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["author"] == city.approver.email and asked.json()["announcement_id"] == a["id"]
    answered = client.post(comments_path(a["id"]), headers=city.parks_staff.auth,
                           json={"body": "Yes, 9 to 7.\nSame hours as Saturday."})
    assert answered.status_code == 201, answered.text
    listed = client.get(comments_path(a["id"]), headers=city.parks_staff.auth).json()
    assert [c["body"] for c in listed["items"]] == ["Is the pool open on Sunday too?",
                                                    "Yes, 9 to 7.\nSame hours as Saturday."]
    assert listed["next_cursor"] is None
    assert listed["items"][0]["created_at"].endswith(("-05:00", "-04:00"))


def test_each_comment_is_an_event_in_the_announcements_audit_trail(client, city):
    a = create_submitted(client, city)
    made = client.post(comments_path(a["id"]), headers=city.approver.auth, json={"body": "Which entrance?"}).json()
    trail = client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.parks_staff.auth).json()["items"]
    event = trail[-1]
    assert event["action"] == "comment" and event["actor"] == city.approver.email
    assert event["detail"] == {"comment_id": made["id"], "excerpt": "Which entrance?"}


def test_the_history_keeps_the_start_of_a_long_comment_and_the_comment_keeps_every_word(client, city):
    a = create_submitted(client, city)
    long = "word " * 700
    made = client.post(comments_path(a["id"]), headers=city.approver.auth, json={"body": long})
    assert made.status_code == 201 and made.json()["body"] == long.strip()
    event = client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.approver.auth).json()["items"][-1]
    assert len(event["detail"]["excerpt"]) == 200 and event["detail"]["excerpt"].endswith("…")


@pytest.mark.parametrize(("body", "words"), [
    ("", "at least 1 character"),
    ("   \n ", "at least 1 character"),
    ("x" * 4001, "at most 4000 characters"),
    ("Open\x00 on Sunday?", "control character"),
    ("Open \u202eyadnuS on?", "text-direction control"),
])
def test_a_comment_that_is_empty_huge_or_holds_control_characters_is_refused_with_what_to_fix(
    client, city, body, words
):
    a = create_submitted(client, city)
    r = client.post(comments_path(a["id"]), headers=city.approver.auth, json={"body": body})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert words in r.text
    assert client.get(comments_path(a["id"]), headers=city.approver.auth).json()["items"] == []


def test_unicode_and_line_breaks_are_kept_as_written(client, city):
    a = create_submitted(client, city)
    text = "¿Abre la piscina el domingo? 🏊\r\nGracias"
    made = client.post(comments_path(a["id"]), headers=city.parks_staff.auth, json={"body": text})
    assert made.status_code == 201 and made.json()["body"] == "¿Abre la piscina el domingo? 🏊\nGracias"


def test_another_departments_staff_are_answered_as_if_the_announcement_did_not_exist(client, city):
    a = create_submitted(client, city)
    missing = a["id"] + 1000
    for method, body in (("GET", None), ("POST", {"body": "Hello"})):
        theirs = client.request(method, comments_path(a["id"]), headers=city.police_staff.auth, json=body)
        nothing = client.request(method, comments_path(missing), headers=city.police_staff.auth, json=body)
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.json()["detail"] == nothing.json()["detail"].replace(str(missing), str(a["id"]))


def test_ids_and_cursors_that_name_nothing_are_refused_clearly(client, city):
    a = create_submitted(client, city)
    assert client.get(comments_path(2**40), headers=city.approver.auth).status_code == 422
    r = client.get(comments_path(a["id"]) + "?cursor=nonsense", headers=city.approver.auth)
    assert r.status_code == 422 and "cursor" in r.json()["detail"]


def test_a_long_conversation_comes_in_pages(client, city):
    a = create_submitted(client, city)
    for n in range(5):
        client.post(comments_path(a["id"]), headers=city.approver.auth, json={"body": f"Note {n}"})
    first = client.get(comments_path(a["id"]) + "?limit=3", headers=city.approver.auth).json()
    rest = client.get(comments_path(a["id"]) + f"?limit=3&cursor={first['next_cursor']}",
                      headers=city.approver.auth).json()
    assert [c["body"] for c in first["items"] + rest["items"]] == [f"Note {n}" for n in range(5)]
    assert rest["next_cursor"] is None


def test_the_staff_page_lists_comments_and_a_form_posts_one_without_javascript(client, city, sign_in):
    a = create_submitted(client, city)
    client.post(comments_path(a["id"]), headers=city.approver.auth, json={"body": "Is <b>Sunday</b> included?"})
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert "Is &lt;b&gt;Sunday&lt;/b&gt; included?" in page.text
    assert "</strong> (approver)" in page.text
    assert f'action="/staff/announcements/{a["id"]}/comments"' in page.text
    r = browser.post(f"/staff/announcements/{a['id']}/comments",
                     data={"csrf_token": csrf_of(page.text), "body": "Yes, Sunday too."})
    assert r.status_code == 200 and "Comment added." in r.text
    comments = r.text[r.text.index('id="comments-heading"'):r.text.index('id="history-heading"')]
    assert comments.index("Is &lt;b&gt;Sunday") < comments.index("Yes, Sunday too.")
    history = r.text[r.text.index('id="history-heading"'):]
    assert "Commented: “Yes, Sunday too.”" in history


def test_the_page_shows_a_refused_comment_back_with_what_to_fix(client, city, sign_in):
    a = create_submitted(client, city)
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{a['id']}").text
    assert 'href="#comment-body">Ask the author a question first</a>' in page
    token = csrf_of(page)
    r = browser.post(f"/staff/announcements/{a['id']}/comments", data={"csrf_token": token, "body": "Hi\x07 there"})
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and "invisible control character (U+0007)" in r.text
    empty = browser.post(f"/staff/announcements/{a['id']}/comments", data={"csrf_token": token, "body": ""})
    assert empty.status_code == 422 and "cannot be empty" in empty.text


def test_the_comment_form_needs_the_pages_csrf_token_and_outsiders_get_404(client, city, sign_in):
    a = create_submitted(client, city)
    mine = sign_in(city.parks_staff)
    assert mine.post(f"/staff/announcements/{a['id']}/comments", data={"body": "x"}).status_code == 403
    outsider = sign_in(city.police_staff)
    token = csrf_of(outsider.get("/staff/announcements/new").text)
    theirs = outsider.post(f"/staff/announcements/{a['id']}/comments", data={"csrf_token": token, "body": "x"},
                           headers=HTML)
    assert theirs.status_code == 404 and "Pool opens" not in theirs.text


def test_a_comment_leaves_the_announcement_and_its_approval_as_they_were(client, city):
    a = create_approved(client, city)
    r = client.post(f"/api/v1/announcements/{a['id']}/comments", headers=city.parks_staff.auth,
                    json={"body": "Thanks!"})
    assert r.status_code == 201
    after = client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()
    assert after["state"] == "scheduled" and after["approved_fingerprint"] == a["approved_fingerprint"]
    assert after["updated_at"] == a["updated_at"]

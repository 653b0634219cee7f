"""The person page for administrators (/staff/users/{id}) and everyone's account page
(/staff/account): forms with CSRF, refusals next to their field, no JavaScript needed."""

import re

import pytest
from sqlalchemy import select

from civicpost.models import ApiToken, AuditEvent, User
from tests.factories import PASSWORD
from tests.pages import csrf_of

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def admin(sign_in, city):
    browser = sign_in(city.admin)
    browser.headers.update(HTML)
    return browser


def post_form(browser, page_url: str, action: str, data: dict, **kwargs):
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    return browser.post(action, data={"csrf_token": csrf_of(page.text), **data}, **kwargs)


def test_the_users_list_and_the_navigation_lead_to_the_new_pages(admin, sign_in, city):
    users = admin.get("/staff/users").text
    assert f'href="/staff/users/{city.parks_staff.id}"' in users
    staff = sign_in(city.parks_staff)
    assert 'href="/staff/account"' in staff.get("/staff/").text


def test_only_an_admin_opens_a_person_page(sign_in, city):
    for person in (city.parks_staff, city.approver):
        r = sign_in(person).get(f"/staff/users/{city.police_staff.id}", headers=HTML)
        assert r.status_code == 403
    assert sign_in(city.admin).get("/staff/users/999999", headers=HTML).status_code == 404


def test_an_admin_changes_a_persons_role_and_departments(admin, city, sessions):
    url = f"/staff/users/{city.parks_staff.id}"
    r = post_form(admin, url, url, {"name": "Pat Parks", "role": "staff", "departments": ["parks", "police"]},
                  follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == url
    assert "Saved the changes to Pat Parks." in admin.get(url).text
    with sessions() as session:
        assert session.get(User, city.parks_staff.id).department_slugs == ["parks", "police"]
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update")).actor == city.admin.email


def test_a_staff_member_without_a_department_is_refused_next_to_the_field(admin, city):
    url = f"/staff/users/{city.parks_staff.id}"
    r = post_form(admin, url, url, {"name": "Pat", "role": "staff"})
    assert r.status_code == 422
    assert 'class="error-summary"' in r.text and 'href="#f-departments"' in r.text
    assert re.search(r'id="f-departments-error"[^>]*>.*at least one department', r.text, re.S)


def test_an_empty_name_and_an_unknown_department_are_refused_with_what_to_fix(admin, city):
    url = f"/staff/users/{city.parks_staff.id}"
    r = post_form(admin, url, url, {"name": "  ", "role": "staff", "departments": ["parks"]})
    assert r.status_code == 422 and 'href="#f-name"' in r.text and "Fill this in" in r.text
    r = post_form(admin, url, url, {"name": "Pat", "role": "staff", "departments": ["nowhere"]})
    assert r.status_code == 422 and "Unknown department &#39;nowhere&#39;" in r.text


def test_an_admin_cannot_demote_or_deactivate_themselves_from_their_page(admin, city):
    url = f"/staff/users/{city.admin.id}"
    page = admin.get(url).text
    assert f'action="{url}/active"' not in page and "another administrator can" in page
    r = post_form(admin, url, url, {"name": "Ada", "role": "approver"})
    assert r.status_code == 409 and "another administrator must change it" in r.text
    r = post_form(admin, url, f"{url}/active", {"active": "no"})
    assert r.status_code == 409 and "another administrator must do it" in r.text


def test_deactivating_from_the_page_signs_the_person_out_and_reactivating_lets_them_back(admin, sign_in, city, client):
    victim = sign_in(city.parks_staff)
    url = f"/staff/users/{city.parks_staff.id}"
    r = post_form(admin, url, f"{url}/active", {"active": "no"}, follow_redirects=False)
    assert r.status_code == 303
    assert "signed out everywhere" in admin.get(url).text and "Deactivated" in admin.get(url).text
    assert victim.get("/staff/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).status_code == 401
    post_form(admin, url, f"{url}/active", {"active": "yes"})
    page = sign_in(city.parks_staff).get("/staff/")
    assert page.status_code == 200


def test_an_admin_sets_a_new_password_and_a_short_one_is_refused(admin, sign_in, city, client):
    url = f"/staff/users/{city.parks_staff.id}"
    r = post_form(admin, url, f"{url}/password", {"password": "short"})
    assert r.status_code == 422 and "at least 12 characters" in r.text
    r = post_form(admin, url, f"{url}/password", {"password": "a new long password"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/staff/login")
    old = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert old.status_code == 401
    page = client.get("/staff/login")
    new = client.post("/staff/login", data={"email": city.parks_staff.email, "password": "a new long password",
                                            "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert new.status_code == 303


def test_an_admin_revokes_someone_elses_token_from_their_page(admin, city, client, sessions):
    url = f"/staff/users/{city.parks_staff.id}"
    with sessions() as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.user_id == city.parks_staff.id))
    page = admin.get(url).text
    assert f'action="{url}/tokens/{token_id}/revoke"' in page and city.parks_staff.token not in page
    r = post_form(admin, url, f"{url}/tokens/{token_id}/revoke", {}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).status_code == 401
    # A token id that is not this person's is not found here.
    other = f"/staff/users/{city.police_staff.id}"
    assert post_form(admin, other, f"{other}/tokens/{token_id}/revoke", {}).status_code == 404


def test_the_account_page_makes_a_token_shown_once_that_works_and_can_be_revoked(sign_in, city, client):
    me = sign_in(city.parks_staff)
    me.headers.update(HTML)
    r = post_form(me, "/staff/account", "/staff/account/tokens",
                  {"name": "newsletter sync", "expires_in_days": "90", "scope": ["read", "draft"]})
    assert r.status_code == 200 and "shown this once" in r.text
    token = re.search(r'id="new-token"[^>]*value="(cp_[^"]+)"', r.text).group(1)
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = me.get("/staff/account").text
    assert token not in again and "newsletter sync" in again and token[:10] in again
    token_id = re.search(r'action="/staff/account/tokens/(\d+)/revoke"[^<]*<input[^>]*>\s*<button[^>]*>Revoke<span[^>]*> newsletter sync', again)
    assert token_id, again
    r = post_form(me, "/staff/account", f"/staff/account/tokens/{token_id.group(1)}/revoke", {}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_account_page_refuses_a_bad_token_form_with_messages_that_say_how_to_fix_it(sign_in, city):
    me = sign_in(city.parks_staff)
    r = post_form(me, "/staff/account", "/staff/account/tokens", {"name": "", "expires_in_days": "soon"}, headers=HTML)
    assert r.status_code == 422
    assert "Say what the token is for" in r.text and "Enter a whole number of days from 1 to 3650" in r.text
    assert 'href="#f-name"' in r.text and 'href="#f-expires_in_days"' in r.text


def test_someone_elses_token_cannot_be_revoked_from_my_account_page(sign_in, city, client, sessions):
    with sessions() as session:
        theirs = session.scalar(select(ApiToken.id).where(ApiToken.user_id == city.police_staff.id))
    me = sign_in(city.parks_staff)
    r = post_form(me, "/staff/account", f"/staff/account/tokens/{theirs}/revoke", {}, headers=HTML)
    assert r.status_code == 404
    assert client.get("/api/v1/users/me", headers=city.police_staff.auth).status_code == 200


def test_changing_your_password_needs_the_current_one_and_the_same_new_one_twice(sign_in, city):
    me = sign_in(city.parks_staff)
    me.headers.update(HTML)
    base = {"new_password": "another long password", "confirm_password": "another long password"}
    r = post_form(me, "/staff/account", "/staff/account/password", {**base, "current_password": "not it"})
    assert r.status_code == 422 and "enter the password you signed in with" in r.text.lower()
    r = post_form(me, "/staff/account", "/staff/account/password",
                  {"current_password": PASSWORD, "new_password": "another long password", "confirm_password": "typo"})
    assert r.status_code == 422 and "Type the same new password twice" in r.text
    r = post_form(me, "/staff/account", "/staff/account/password",
                  {"current_password": PASSWORD, "new_password": PASSWORD, "confirm_password": PASSWORD})
    assert r.status_code == 422 and "different from the current one" in r.text


def test_guessing_the_current_password_on_the_account_page_is_throttled_like_sign_in(sign_in, city):
    me = sign_in(city.parks_staff)
    me.headers.update(HTML)
    wrong = {"current_password": "not it", "new_password": "another long password", "confirm_password": "another long password"}
    for _ in range(5):
        assert post_form(me, "/staff/account", "/staff/account/password", wrong).status_code == 422
    r = post_form(me, "/staff/account", "/staff/account/password", {**wrong, "current_password": PASSWORD})
    assert r.status_code == 429 and "Too many wrong attempts" in r.text

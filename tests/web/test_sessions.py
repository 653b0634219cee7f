"""Staff sessions live on the server: sign-out, deactivation and a new password end them,
the cookie holds nothing readable, and an idle session expires (SPEC §8.1 "Sessions")."""

import base64
import binascii
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from civicpost import people
from civicpost.db import transaction, utcnow
from civicpost.models import Department, StaffSession, User
from tests.factories import PASSWORD
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def session_cookie(browser: TestClient) -> str:
    return browser.cookies.get("civicpost_session")


def copy_of(app, browser: TestClient) -> TestClient:
    """Another client carrying a copy of `browser`'s session cookie, as an attacker who saved it would."""
    thief = TestClient(app)
    thief.cookies.set("civicpost_session", session_cookie(browser))
    return thief


def rows(sessions) -> list[StaffSession]:
    with sessions() as session:
        return list(session.scalars(select(StaffSession)))


def test_a_cookie_copied_before_sign_out_no_longer_opens_a_page(app, sign_in, city):
    browser = sign_in(city.parks_staff)
    with copy_of(app, browser) as thief:
        assert thief.get("/staff/", follow_redirects=False).status_code == 200
        browser.post("/staff/logout", data={"csrf_token": csrf_of(browser.get("/staff/").text)})
        r = thief.get("/staff/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


def test_a_cookie_copied_before_sign_out_cannot_post_with_its_old_csrf_token(app, sign_in, city, sessions):
    browser = sign_in(city.admin)
    with copy_of(app, browser) as thief:
        old_token = csrf_of(thief.get("/staff/departments").text)
        browser.post("/staff/logout", data={"csrf_token": csrf_of(browser.get("/staff/").text)})
        r = thief.post("/staff/departments", data={"csrf_token": old_token, "slug": "arts", "name": "Arts"},
                       headers=HTML, follow_redirects=False)
        assert r.status_code == 403
    with sessions() as session:
        assert session.scalar(select(Department).where(Department.slug == "arts")) is None


def test_the_cookie_holds_only_a_random_token_with_nothing_readable_in_it(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    value = session_cookie(browser)
    with sessions() as session:
        user = session.get(User, city.parks_staff.id)
        row = session.scalar(select(StaffSession))
    assert len(value) == 43 and value.replace("-", "").replace("_", "").isalnum()
    for secret in (user.password_hash[-16:], user.password_hash[-8:], row.csrf, user.email, "uid"):
        assert secret not in value
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        decoded = b""
    with pytest.raises(ValueError):
        json.loads(decoded)
    # The database keeps only the token's hash: a copy of the table signs nobody in.
    assert row.token_hash != value and value not in row.token_hash


def test_every_sign_in_gets_a_new_token_and_the_old_one_dies(app, sign_in, city):
    browser = sign_in(city.parks_staff)
    first = session_cookie(browser)
    page = browser.get("/staff/login")
    browser.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    second = session_cookie(browser)
    assert second and second != first
    with TestClient(app, cookies={"civicpost_session": first}) as old:
        assert old.get("/staff/", follow_redirects=False).status_code == 303


def test_a_planted_cookie_is_never_the_one_signed_in(app, city, sessions):
    with TestClient(app, cookies={"civicpost_session": "planted-by-someone-else-0123456789abcdefghij"}) as browser:
        page = browser.get("/staff/login")
        r = browser.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD,
                                               "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        given = next(c for c in r.headers.get_list("set-cookie") if c.startswith("civicpost_session="))
        assert "planted-by-someone-else" not in given
    with TestClient(app, cookies={"civicpost_session": "planted-by-someone-else-0123456789abcdefghij"}) as planter:
        r = planter.get("/staff/", follow_redirects=False)
        assert r.status_code == 303
        # The dead cookie is cleared on the way out.
        assert any(c.startswith("civicpost_session=") and "max-age=0" in c.lower() for c in r.headers.get_list("set-cookie"))


def test_deactivation_ends_the_persons_sessions_at_once(app, sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    with copy_of(app, browser) as copy:
        with transaction(sessions) as session:
            people.update_user(session, actor=None, user=session.get(User, city.parks_staff.id), active=False)
        assert browser.get("/staff/", follow_redirects=False).status_code == 303
        assert copy.get("/staff/", follow_redirects=False).status_code == 303
    assert rows(sessions) == []


def test_a_password_reset_by_an_admin_ends_the_persons_sessions(app, sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    with copy_of(app, browser) as copy:
        admin = sign_in(city.admin)
        page = admin.get(f"/staff/users/{city.parks_staff.id}", headers=HTML)
        r = admin.post(f"/staff/users/{city.parks_staff.id}/password",
                       data={"csrf_token": csrf_of(page.text), "password": "a brand new long password"},
                       headers=HTML, follow_redirects=False)
        assert r.status_code == 303
        assert browser.get("/staff/", follow_redirects=False).status_code == 303
        assert copy.get("/staff/", follow_redirects=False).status_code == 303
    assert admin.get("/staff/", follow_redirects=False).status_code == 200


def test_changing_your_own_password_keeps_this_browser_and_ends_the_others(app, sign_in, city):
    here, elsewhere = sign_in(city.parks_staff), sign_in(city.parks_staff)
    page = here.get("/staff/account", headers=HTML)
    assert "This browser stays signed in" in page.text
    r = here.post("/staff/account/password", headers=HTML, follow_redirects=False, data={
        "csrf_token": csrf_of(page.text), "current_password": PASSWORD,
        "new_password": "another long password", "confirm_password": "another long password"})
    assert r.status_code == 303
    assert "1 other browser was signed out" in here.get("/staff/account", headers=HTML).text
    assert here.get("/staff/", follow_redirects=False).status_code == 200
    assert elsewhere.get("/staff/", follow_redirects=False).status_code == 303


def test_a_session_idle_longer_than_the_timeout_is_signed_out(sign_in, city, sessions, settings):
    assert settings.session_idle_minutes == 480
    browser = sign_in(city.parks_staff)
    with transaction(sessions) as session:
        session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=479)))
    assert browser.get("/staff/", follow_redirects=False).status_code == 200
    with transaction(sessions) as session:
        session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=481)))
    r = browser.get("/staff/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


def test_the_idle_timeout_is_a_setting(app, city, sessions, settings, engine):
    from civicpost.web import create_app

    short = create_app(settings.model_copy(update={"session_idle_minutes": 5}), engine=engine)
    with TestClient(short) as browser:
        page = browser.get("/staff/login")
        browser.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
        with transaction(sessions) as session:
            session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=6)))
        assert browser.get("/staff/", follow_redirects=False).status_code == 303


def test_a_page_view_writes_the_last_seen_time_at_most_once_a_minute(sign_in, city, sessions):
    browser = sign_in(city.parks_staff)
    [before] = rows(sessions)
    for _ in range(3):
        browser.get("/staff/")
    assert rows(sessions)[0].last_seen_at == before.last_seen_at
    with transaction(sessions) as session:
        session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
    browser.get("/staff/")
    assert utcnow() - rows(sessions)[0].last_seen_at < timedelta(seconds=30)


def test_sessions_idle_past_the_timeout_are_removed_at_the_next_sign_in(sign_in, city, sessions):
    sign_in(city.parks_staff)
    with transaction(sessions) as session:
        session.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(days=2)))
    sign_in(city.approver)
    assert [r.user_id for r in rows(sessions)] == [city.approver.id]


def test_a_flash_message_survives_the_redirect_and_shows_once(sign_in, city):
    admin = sign_in(city.admin)
    page = admin.get("/staff/departments")
    admin.post("/staff/departments", data={"csrf_token": csrf_of(page.text), "slug": "arts", "name": "Arts Council"},
               follow_redirects=False)
    assert "Added the department Arts Council." in admin.get("/staff/departments").text
    assert "Added the department Arts Council." not in admin.get("/staff/departments").text


def test_the_cookie_is_secure_when_the_service_runs_behind_https(city, settings, engine):
    from civicpost.web import create_app

    app = create_app(settings.model_copy(update={"base_url": "https://civicpost.city.example"}), engine=engine)
    with TestClient(app, base_url="https://testserver") as browser:
        page = browser.get("/staff/login")
        r = browser.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD,
                                               "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("civicpost_session="))
        assert "secure" in cookie.lower()
        assert browser.get("/staff/", follow_redirects=False).status_code == 200


def test_the_session_row_records_who_when_and_from_where(sign_in, city, sessions):
    sign_in(city.parks_staff)
    with sessions() as session:
        row = session.scalar(select(StaffSession))
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 1
    assert row.user_id == city.parks_staff.id and row.ip == "testclient" and row.user_agent
    assert row.created_at == row.last_seen_at and len(row.csrf) >= 32

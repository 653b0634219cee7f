"""Signing in and out of the staff pages."""

from tests.web.conftest import PASSWORD, csrf_of


def test_a_page_sends_a_signed_out_visitor_to_sign_in_and_back(client, city):
    r = client.get("/staff/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/login?next=/staff/"
    page = client.get(r.headers["location"])
    r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD,
                                          "csrf_token": csrf_of(page.text), "next": "/staff/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "My drafts" in client.get("/staff/").text


def test_a_sign_in_without_the_csrf_token_is_refused(client, city):
    client.get("/staff/login")
    r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "expired" in r.text


def test_five_wrong_passwords_lock_the_account_for_a_while(client, city):
    for _ in range(5):
        page = client.get("/staff/login")
        r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": "wrong", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 401 and "do not match" in r.text
    page = client.get("/staff/login")
    r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401 and "Too many failed sign-ins" in r.text


def test_sign_in_never_bounces_to_another_site(client, city):
    page = client.get("/staff/login?next=https://evil.example/")
    assert 'value="/staff/"' in page.text
    r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD,
                                          "csrf_token": csrf_of(page.text), "next": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/staff/"


def test_signing_out_ends_the_session(sign_in, city):
    browser = sign_in(city.parks_staff)
    page = browser.get("/staff/")
    r = browser.post("/staff/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert browser.get("/staff/", follow_redirects=False).status_code == 303


def test_an_unexpected_error_is_a_friendly_page_that_says_nothing_was_saved(app, city, monkeypatch):
    from fastapi.testclient import TestClient

    from civicpost import feed

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(feed, "latest", broken)
    with TestClient(app, raise_server_exceptions=False) as browser:
        r = browser.get("/", headers={"accept": "text/html"})
        assert r.status_code == 500 and "text/html" in r.headers["content-type"]
        assert "nothing was saved" in r.text and "database on fire" not in r.text
        api = browser.get("/feed.json")
        assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"

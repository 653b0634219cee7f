"""Signing in and out of the staff pages, and the sign-in throttle (SPEC §8.1 "Sign-in throttling")."""

import re
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from civicpost import accounts, throttle
from civicpost.db import transaction, utcnow
from civicpost.models import AuditEvent, SignInThrottle, StaffSession
from civicpost.throttle import ACCOUNT, PAIR, wait_after
from tests.factories import PASSWORD
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


@pytest.fixture
def browser_at(app):
    """`browser_at(address)`: a fresh browser-like client whose requests come from that address."""
    made: list[TestClient] = []

    def make(address: str) -> TestClient:
        c = TestClient(app, client=(address, 40000))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def attempt(browser: TestClient, email: str, password: str):
    page = browser.get("/staff/login")
    return browser.post("/staff/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text),
                                              "next": "/staff/"}, follow_redirects=False)


def message(response) -> str:
    found = re.search(r'id="login-error">([^<]*)<', response.text)
    assert found, response.text
    return found.group(1)


def test_a_page_sends_a_signed_out_visitor_to_sign_in_and_back(client, city):
    r = client.get("/staff/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/login?next=/staff/"
    page = client.get(r.headers["location"])
    r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD,
                                          "csrf_token": csrf_of(page.text), "next": "/staff/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("civicpost_session="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "My drafts" in client.get("/staff/").text


def test_a_sign_in_without_the_csrf_token_is_refused(client, city):
    client.get("/staff/login")
    for forged in ("forged", "fälschung"):
        r = client.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": forged})
        assert r.status_code == 403 and "expired" in r.text


def test_a_forged_known_browser_cookie_is_ignored(client, city):
    page = client.get("/staff/login")
    cookie = f"civicpost_login={client.cookies['civicpost_login']}; civicpost_browser=n\u00e9once.f\u00e4lsch~x.y"
    r = client.post("/staff/login", headers={"cookie": cookie.encode("latin-1")}, follow_redirects=False,
                    data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303


def test_the_sign_in_form_is_guarded_by_its_cookie_and_makes_no_session_row(browser_at, city, sessions):
    mine, theirs = browser_at("192.0.2.1"), browser_at("192.0.2.2")
    token_of_theirs = csrf_of(theirs.get("/staff/login").text)
    mine.get("/staff/login")
    # A token from another browser's form does not fit this browser's cookie.
    r = mine.post("/staff/login", data={"email": city.parks_staff.email, "password": PASSWORD, "csrf_token": token_of_theirs})
    assert r.status_code == 403
    assert attempt(mine, city.parks_staff.email, "wrong password here").status_code == 401
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


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
    assert "You have signed out" in browser.get(r.headers["location"]).text
    assert browser.get("/staff/", follow_redirects=False).status_code == 303


def test_five_wrong_passwords_from_one_address_do_not_stop_the_owner_from_another_address(browser_at, city):
    guesser, owner = browser_at("203.0.113.66"), browser_at("198.51.100.7")
    for _ in range(5):
        assert attempt(guesser, city.parks_staff.email, "not the password").status_code == 401
    assert attempt(guesser, city.parks_staff.email, PASSWORD).status_code == 429
    r = attempt(owner, city.parks_staff.email, PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/staff/"


def test_the_guesser_waits_longer_after_each_further_failure_and_not_for_ever(browser_at, city, sessions):
    assert [wait_after(n, PAIR).total_seconds() for n in range(4, 9)] == [0, 5, 10, 20, 40]
    assert wait_after(100, PAIR) == timedelta(minutes=15) and wait_after(100, ACCOUNT) == timedelta(minutes=1)
    guesser = browser_at("203.0.113.66")
    for _ in range(5):
        attempt(guesser, city.parks_staff.email, "not the password")
    r = attempt(guesser, city.parks_staff.email, PASSWORD)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 5
    assert "Too many sign-in attempts. Wait" in message(r)
    # Once the wait is over, the right password works again.
    with transaction(sessions) as session:
        session.execute(update(SignInThrottle).values(wait_until=utcnow() - timedelta(seconds=1)))
    assert attempt(guesser, city.parks_staff.email, PASSWORD).status_code == 303


def test_an_unknown_email_gets_the_same_words_and_status_as_a_known_one(browser_at, city, sessions):
    known, unknown = browser_at("203.0.113.10"), browser_at("203.0.113.11")
    first_known = attempt(known, city.parks_staff.email, "not the password")
    first_unknown = attempt(unknown, "nobody-here@city.example", "not the password")
    assert first_known.status_code == first_unknown.status_code == 401
    assert message(first_known) == message(first_unknown)
    assert "Too many" not in message(first_known) and "exist" not in message(first_known)
    for browser, email in ((known, city.parks_staff.email), (unknown, "nobody-here@city.example")):
        for _ in range(4):
            attempt(browser, email, "not the password")
    with sessions() as session:
        counted = sorted((r.key[0], r.failures, r.wait_until - r.last_failed_at if r.wait_until else None)
                         for r in session.scalars(select(SignInThrottle)))
    # Every key of the unknown email counts and waits exactly as the known one's does.
    assert counted[0::2] == counted[1::2] and len(counted) == 6
    with transaction(sessions) as session:  # a longer wait for both, so a slow machine cannot outlast it
        session.execute(update(SignInThrottle).where(SignInThrottle.wait_until.is_not(None))
                        .values(wait_until=utcnow() + timedelta(minutes=2)))
    slowed_known = attempt(known, city.parks_staff.email, PASSWORD)
    slowed_unknown = attempt(unknown, "nobody-here@city.example", PASSWORD)
    assert slowed_known.status_code == slowed_unknown.status_code == 429
    assert message(slowed_known) == message(slowed_unknown)
    assert abs(int(slowed_known.headers["retry-after"]) - int(slowed_unknown.headers["retry-after"])) <= 1


def test_an_unknown_email_takes_about_as_long_as_a_known_one(production_password_cost, browser_at, city):
    # At production's argon2 cost, the city's people made with it (the fixture comes first).
    known, unknown = browser_at("203.0.113.20"), browser_at("203.0.113.21")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for _ in range(5):
        for name, browser, email in (("known", known, city.parks_staff.email), ("unknown", unknown, "ghost@city.example")):
            page = browser.get("/staff/login")
            started = time.perf_counter()
            browser.post("/staff/login", data={"email": email, "password": "wrong", "csrf_token": csrf_of(page.text)})
            timings[name].append(time.perf_counter() - started)
    # Both verify an argon2 hash (a dummy one for the unknown email): tens of milliseconds either way.
    # The fastest of five is what the work costs; slower ones measure the neighbours on a shared machine.
    ratio = min(timings["unknown"]) / min(timings["known"])
    assert 0.5 < ratio < 2, timings


def test_many_addresses_guessing_at_one_account_make_it_wait_a_minute_at_most(browser_at, city, sessions):
    now = utcnow()
    # Forty guesses from forty addresses, each after the last wait ended: every one is counted.
    with transaction(sessions) as session:
        for n in range(40):
            keys = throttle.keys_for(email=city.parks_staff.email, address=f"203.0.113.{n}")
            at = now - timedelta(seconds=61 * (39 - n))
            assert accounts.sign_in(session, email=city.parks_staff.email, password="guess", keys=keys, now=at).error
        waits = [r.wait_until - r.last_failed_at for r in session.scalars(select(SignInThrottle))
                 if r.key.startswith("a:")]
    assert waits == [timedelta(minutes=1)]
    r = attempt(browser_at("198.51.100.7"), city.parks_staff.email, PASSWORD)
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    with transaction(sessions) as session:
        session.execute(update(SignInThrottle).values(wait_until=utcnow() - timedelta(seconds=1)))
    assert attempt(browser_at("198.51.100.7"), city.parks_staff.email, PASSWORD).status_code == 303


def test_a_browser_that_signed_in_before_gets_in_while_others_guess_at_the_account(browser_at, city, sessions):
    office = "198.51.100.50"
    owner = browser_at(office)
    assert attempt(owner, city.parks_staff.email, PASSWORD).status_code == 303
    owner.post("/staff/logout", data={"csrf_token": csrf_of(owner.get("/staff/").text)})
    # A crowd guesses at the account, and a colleague guesses from the same office address.
    for n in range(12):
        attempt(browser_at(f"203.0.113.{100 + n}"), city.parks_staff.email, "not the password")
    colleague = browser_at(office)
    for _ in range(5):
        attempt(colleague, city.parks_staff.email, "not the password")
    with transaction(sessions) as session:  # the attack goes on: every wait it earned is still running
        session.execute(update(SignInThrottle).where(SignInThrottle.wait_until.is_not(None))
                        .values(wait_until=utcnow() + timedelta(minutes=1)))
    assert attempt(browser_at("203.0.113.200"), city.parks_staff.email, PASSWORD).status_code == 429
    assert attempt(colleague, city.parks_staff.email, PASSWORD).status_code == 429
    r = attempt(owner, city.parks_staff.email, PASSWORD)
    assert r.status_code == 303, message(r)


def test_one_address_trying_many_accounts_is_slowed_down_there_only(browser_at, city):
    sprayer = browser_at("203.0.113.99")
    for n in range(21):
        attempt(sprayer, f"someone{n}@city.example", "Summer2026!")
    assert attempt(sprayer, city.parks_staff.email, PASSWORD).status_code == 429
    assert attempt(browser_at("198.51.100.7"), city.parks_staff.email, PASSWORD).status_code == 303


def test_an_admin_unlocks_an_account_from_its_page_and_the_unlock_is_audited(browser_at, sign_in, city, sessions):
    guesser = browser_at("203.0.113.66")
    for _ in range(5):
        attempt(guesser, city.parks_staff.email, "not the password")
    assert attempt(guesser, city.parks_staff.email, PASSWORD).status_code == 429
    admin = sign_in(city.admin)
    page = admin.get(f"/staff/users/{city.parks_staff.id}", headers=HTML)
    assert "failed sign-ins in the last hour" in page.text
    r = admin.post(f"/staff/users/{city.parks_staff.id}/unlock", data={"csrf_token": csrf_of(page.text)},
                   follow_redirects=False)
    assert r.status_code == 303
    assert "Lifted every sign-in wait" in admin.get(r.headers["location"]).text
    assert attempt(guesser, city.parks_staff.email, PASSWORD).status_code == 303
    with sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.unlock"))
    assert event.object_type == "user" and event.object_id == city.parks_staff.id and event.actor == city.admin.email


def test_an_unexpected_error_is_a_friendly_page_that_says_nothing_was_saved(app, city, monkeypatch):
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

"""Second factors (issue 18): authenticator-app codes, recovery codes, the second sign-in step,
and approvers and admins who must add one before using the staff pages."""

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicpost.db import transaction, utcnow
from civicpost.identity import factors
from civicpost.models import AuditEvent, RecoveryCode, Role, SecondFactor, StaffSession, User
from civicpost.web import create_app
from tests.factories import PASSWORD
from tests.pages import csrf_of


@pytest.fixture
def strict_app(settings, engine):
    return create_app(settings.model_copy(update={"second_factor_required": True}), engine=engine)


@pytest.fixture
def browser(strict_app):
    made: list[TestClient] = []

    def make() -> TestClient:
        c = TestClient(strict_app)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def password_step(c: TestClient, email: str, next_url: str = "/staff/"):
    page = c.get("/staff/login")
    return c.post("/staff/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                        "next": next_url}, follow_redirects=False)


def enrol_totp(c: TestClient) -> tuple[str, list[str]]:
    """Add an authenticator app through the account page; its secret and the recovery codes shown."""
    page = c.get("/staff/account")
    r = c.post("/staff/account/totp", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200 and "<svg" in r.text
    secret = re.search(r'class="totp-secret">([A-Z2-7 ]+)<', r.text).group(1).replace(" ", "")
    factor_id = re.search(r'name="factor_id" value="(\d+)"', r.text).group(1)
    r = c.post("/staff/account/totp/confirm", data={"csrf_token": csrf_of(r.text), "factor_id": factor_id,
                                                    "code": pyotp.TOTP(secret).now(), "name": "my phone"})
    assert r.status_code == 200, r.text
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", r.text)
    assert len(codes) == 10
    return secret, codes


def code_at(secret: str, steps_from_now: int) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30 * steps_from_now))


def give(c: TestClient, path: str, field: str, value: str, next_url: str = "/staff/"):
    page = c.get("/staff/login/second-factor")
    return c.post(path, data={"csrf_token": csrf_of(page.text), field: value, "next": next_url},
                  follow_redirects=False)


@pytest.fixture
def enrolled(browser, people):
    """A staff member (second factor optional) with an authenticator app; returns (person, secret, codes)."""
    people.department("parks")
    person = people.person(Role.staff, ("parks",))
    c = browser()
    password_step(c, person.email)
    secret, codes = enrol_totp(c)
    return person, secret, codes


def test_a_person_with_an_authenticator_gives_its_code_after_the_password_and_gets_a_new_session(
        browser, enrolled, sessions):
    person, secret, _ = enrolled
    c = browser()
    r = password_step(c, person.email, "/staff/announcements")
    assert r.headers["location"] == "/staff/login/second-factor?next=/staff/announcements"
    half = c.cookies["civicpost_session"]
    page = c.get(r.headers["location"])
    assert "Six-digit code" in page.text and "Use a recovery code" in page.text
    # The code of the step after enrolment's (that one is used: a code works once).
    r = give(c, "/staff/login/second-factor", "code", code_at(secret, 1), "/staff/announcements")
    assert r.status_code == 303 and r.headers["location"] == "/staff/announcements"
    assert c.cookies["civicpost_session"] != half
    assert c.get("/staff/announcements").status_code == 200
    with transaction(sessions) as s:
        user = s.scalar(select(User).where(User.email == person.email))
        assert user.last_sign_in_method == "password+totp"
        assert s.scalar(select(func.count()).select_from(StaffSession).where(
            StaffSession.user_id == user.id, StaffSession.method == "password+totp")) == 1
        assert s.scalar(select(func.count()).select_from(StaffSession).where(StaffSession.factor_due)) == 0


def test_a_code_works_once_on_the_page(browser, enrolled):
    person, secret, _ = enrolled
    c = browser()
    password_step(c, person.email)
    assert give(c, "/staff/login/second-factor", "code", code_at(secret, 1)).status_code == 303
    c = browser()
    password_step(c, person.email)
    replayed = give(c, "/staff/login/second-factor", "code", code_at(secret, 1))
    assert replayed.status_code == 401 and "each code works once" in replayed.text
    assert give(c, "/staff/login/second-factor", "code", "").status_code == 422
    assert give(c, "/staff/login/second-factor", "code", "x" * 101).status_code == 422
    assert give(c, "/staff/login/second-factor", "code", "１２３４５６").status_code == 401


def test_each_recovery_code_signs_in_once(browser, enrolled, sessions):
    person, _, codes = enrolled
    c = browser()
    password_step(c, person.email)
    r = give(c, "/staff/login/second-factor/recovery", "recovery_code", codes[0].upper().replace("-", " "),
             "/staff/announcements?state=draft")
    # On to where they were heading, told the code is spent and how many remain (once).
    assert r.status_code == 303 and r.headers["location"] == "/staff/announcements?state=draft"
    assert "That recovery code is used up; you have 9 recovery codes left." in c.get(r.headers["location"]).text
    assert "used up" not in c.get("/staff/announcements").text
    assert "You have 9 unused recovery codes" in c.get("/staff/account").text
    c = browser()
    password_step(c, person.email)
    again = give(c, "/staff/login/second-factor/recovery", "recovery_code", codes[0])
    assert again.status_code == 401 and "used already" in again.text
    with transaction(sessions) as s:
        uses = s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "factor.recovery_code_use"))
        assert uses == 1


def test_wrong_codes_are_slowed_down_for_the_account_and_say_so(browser, enrolled):
    person, secret, _ = enrolled
    c = browser()
    password_step(c, person.email)
    answers = [give(c, "/staff/login/second-factor", "code", "000000").status_code for _ in range(7)]
    assert answers[:5] == [401] * 5 and answers[-1] == 429
    waiting = give(c, "/staff/login/second-factor", "code", pyotp.TOTP(secret).now())
    assert waiting.status_code == 429 and "Too many wrong codes. Wait" in waiting.text
    assert int(waiting.headers["retry-after"]) > 0
    # From another browser too: the count is the account's.
    other = browser()
    password_step(other, person.email)
    assert give(other, "/staff/login/second-factor", "code", pyotp.TOTP(secret).now()).status_code == 429


def routes_of(app):
    """(path, methods) of every route, also those inside included routers."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from ((c.path, c.methods) for c in contexts())
        else:
            yield getattr(route, "path", ""), getattr(route, "methods", None)


def staff_paths(app) -> list[tuple[str, str]]:
    paths = []
    for path, methods in routes_of(app):
        if not path.startswith(("/staff", "/media")) or path.startswith(("/staff/login", "/staff/logout")):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in sorted(methods or {"GET"}):
            if method != "HEAD":
                paths.append((method, concrete))
    return paths


def test_a_session_waiting_for_its_second_factor_reaches_no_other_page_nor_the_api(browser, enrolled, strict_app):
    person, _, _ = enrolled
    c = browser()
    password_step(c, person.email)
    paths = staff_paths(strict_app)
    assert len(paths) > 50
    for method, path in paths:
        r = c.request(method, path, follow_redirects=False)
        assert r.status_code == 303, (method, path, r.status_code)
        assert r.headers["location"].startswith("/staff/login/second-factor"), (method, path)
    # The API takes no session cookie at all.
    assert c.get("/api/v1/announcements").status_code == 401
    page = c.get("/staff/login/second-factor")
    assert c.post("/staff/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False).status_code == 303


def test_an_approver_without_a_second_factor_is_sent_to_add_one_and_then_goes_anywhere(browser, people, sessions):
    approver = people.person(Role.approver)
    c = browser()
    password_step(c, approver.email)
    r = c.get("/staff/approvals", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/account#second-factors"
    page = c.get("/staff/account")
    assert "As an approver you must add a second factor" in page.text
    enrol_totp(c)
    assert c.get("/staff/approvals", follow_redirects=False).status_code == 200


def test_a_staff_member_made_approver_is_asked_at_their_next_page(browser, people, sessions):
    people.department("parks")
    person = people.person(Role.staff, ("parks",))
    c = browser()
    password_step(c, person.email)
    assert c.get("/staff/", follow_redirects=False).status_code == 200
    with transaction(sessions) as s:
        s.scalar(select(User).where(User.email == person.email)).role = Role.approver
    assert c.get("/staff/", follow_redirects=False).headers["location"] == "/staff/account#second-factors"


def test_removing_a_factor_needs_the_password_again_and_is_audited(browser, enrolled, sessions):
    person, _, _ = enrolled
    c = browser()
    password_step(c, person.email)
    page = c.get("/staff/login/second-factor")
    c.post("/staff/login/second-factor/recovery",
           data={"csrf_token": csrf_of(page.text), "recovery_code": enrolled[2][1]})
    with transaction(sessions) as s:
        factor_id = s.scalar(select(SecondFactor.id))
    page = c.get("/staff/account")
    wrong = c.post(f"/staff/account/factors/{factor_id}/remove", data={"csrf_token": csrf_of(page.text),
                                                                      "proof": "not my password"})
    assert wrong.status_code == 401 and "neither your password" in wrong.text
    r = c.post(f"/staff/account/factors/{factor_id}/remove", data={"csrf_token": csrf_of(page.text),
                                                                  "proof": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303
    assert "Removed “my phone”" in c.get("/staff/account").text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(SecondFactor)) == 0
        assert s.scalar(select(func.count()).select_from(RecoveryCode)) == 0
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"factor.add", "factor.recovery_codes", "factor.remove"} <= actions
    # With no factor left, the password alone signs in again.
    assert password_step(browser(), person.email).headers["location"] == "/staff/"


def test_a_code_is_accepted_one_step_either_side_of_now_and_never_twice(sessions, settings, people):
    from civicpost.security import CredentialBox

    box = CredentialBox(settings.fernet_key())
    people.department("parks")
    person = people.person(Role.staff, ("parks",))
    now = utcnow()
    earlier = now - timedelta(minutes=10)
    with transaction(sessions) as s:
        user = s.scalar(select(User).where(User.email == person.email))
        factor = factors.start_totp(s, user=user, box=box)
        totp = pyotp.TOTP(factors.secret_of(factor, box))
        assert factors.confirm_totp(s, user=user, factor=factor, code=totp.at(earlier), box=box, now=earlier)
        assert factors.check_totp(s, user=user, code=totp.at(now + timedelta(seconds=90)), box=box, now=now) is None
        assert factors.check_totp(s, user=user, code=totp.at(now - timedelta(seconds=30)), box=box, now=now)
        assert factors.check_totp(s, user=user, code=totp.at(now - timedelta(seconds=30)), box=box, now=now) is None
        assert factors.check_totp(s, user=user, code=totp.at(now + timedelta(seconds=30)), box=box, now=now)
        # Now's own code is older than the step just used: refused too.
        assert factors.check_totp(s, user=user, code=totp.at(now), box=box, now=now) is None
        assert factors.check_totp(s, user=user, code="12345a", box=box, now=now) is None


def test_the_operator_resets_the_factors_of_someone_who_lost_them_all(browser, enrolled, sessions, database_url,
                                                                      monkeypatch):
    from typer.testing import CliRunner

    from civicpost.cli import app as cli
    from tests.conftest import TEST_SECRET

    person, _, _ = enrolled
    signed_in = browser()
    password_step(signed_in, person.email)
    monkeypatch.setenv("CIVICPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("CIVICPOST_SECRET_KEY", TEST_SECRET)
    result = CliRunner().invoke(cli, ["user", "reset-factors", person.email])
    assert result.exit_code == 0, result.output
    assert "removed 1 second factor(s) and 10 recovery code(s)" in result.output
    # Every session ended, the half-signed-in one too; the password alone now signs in.
    assert signed_in.get("/staff/login/second-factor", follow_redirects=False).headers["location"].startswith(
        "/staff/login?next=")
    assert password_step(browser(), person.email).headers["location"] == "/staff/"
    with transaction(sessions) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "factor.reset"))
        assert event.detail == {"factors": 1, "recovery_codes": 10, "sessions_ended": 2} and event.actor
    unknown = CliRunner().invoke(cli, ["user", "reset-factors", "nobody@city.example"])
    assert unknown.exit_code == 2 and "no user with email" in unknown.output


def test_the_last_recovery_code_sends_the_person_to_make_new_ones(browser, enrolled, sessions):
    person, _, codes = enrolled
    with transaction(sessions) as s:
        user = s.scalar(select(User).where(User.email == person.email))
        assert all(factors.use_recovery_code(s, user=user, code=code) for code in codes[:9])
    c = browser()
    password_step(c, person.email, "/staff/announcements")
    r = give(c, "/staff/login/second-factor/recovery", "recovery_code", codes[9], "/staff/announcements")
    assert r.status_code == 303 and r.headers["location"] == "/staff/account#second-factors"
    page = c.get("/staff/account").text
    assert "You used your last recovery code. Make new ones below now" in page
    assert "You have 0 unused recovery codes" in page


def test_another_persons_factor_is_not_found_and_stays(browser, enrolled, people, sessions):
    owner, _, _ = enrolled
    with transaction(sessions) as s:
        theirs = s.scalar(select(SecondFactor.id))
    intruder = people.person(Role.staff, ("parks",))
    c = browser()
    password_step(c, intruder.email)
    page = c.get("/staff/account")
    r = c.post(f"/staff/account/factors/{theirs}/remove", data={"csrf_token": csrf_of(page.text), "proof": PASSWORD})
    assert r.status_code == 404 and "you have no such second factor" in r.text
    # Someone else's authenticator set-up cannot be confirmed either.
    started = c.post("/staff/account/totp", data={"csrf_token": csrf_of(page.text)})
    assert started.status_code == 200
    r = c.post("/staff/account/totp/confirm", data={"csrf_token": csrf_of(page.text), "factor_id": theirs,
                                                    "code": "123456"})
    assert r.status_code == 404 and "start again" in r.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(SecondFactor).where(
            SecondFactor.id == theirs, SecondFactor.confirmed_at.is_not(None))) == 1
        assert s.scalar(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.used_at.is_(None))) == 10


@pytest.mark.parametrize("path", ["/staff/account/passkeys", "/staff/login/second-factor/passkey"])
def test_an_oversized_passkey_answer_is_refused_with_a_page_saying_so(browser, enrolled, path):
    person, _, codes = enrolled
    c = browser()
    password_step(c, person.email)
    if path.startswith("/staff/account"):
        give(c, "/staff/login/second-factor/recovery", "recovery_code", codes[0])
        page = c.get("/staff/account")
    else:
        page = c.get("/staff/login/second-factor")
    token = csrf_of(page.text)
    c.headers["accept"] = "text/html"  # as a browser sends the form
    options = c.post(f"{path}/options", headers={"X-CSRF-Token": token})
    assert options.status_code == 200 and options.json()["challenge"]
    says = ("The passkey&#39;s answer is missing or too long" if path.startswith("/staff/account")
            else "That passkey did not check out")
    too_long = c.post(path, data={"csrf_token": token, "credential": "{" + "x" * 30_000 + "}"}, follow_redirects=False)
    assert too_long.status_code in (401, 422) and says in too_long.text, too_long.text[-3000:]
    huge = c.post(path, data={"csrf_token": token, "credential": "x" * 12_000_000}, follow_redirects=False)
    assert huge.status_code == 413 and "That was too large to send" in huge.text
    c.post(f"{path}/options", headers={"X-CSRF-Token": token})
    garbage = c.post(path, data={"csrf_token": token, "credential": "[1, 2"}, follow_redirects=False)
    assert garbage.status_code in (401, 422) and "Traceback" not in garbage.text and "<form" in garbage.text


def test_one_rule_says_who_must_have_a_second_factor_on_the_pages_the_api_and_the_gate(
        browser, people, sessions, client):
    from civicpost.models import NO_PASSWORD

    people.department("parks")
    staff = people.person(Role.staff, ("parks",))
    emergency = people.person(Role.staff, ("parks",))
    approver = people.person(Role.approver)
    admin = people.person(Role.admin)
    single_sign_on = people.person(Role.approver)
    with transaction(sessions) as s:
        s.scalar(select(User).where(User.email == emergency.email)).emergency_publisher = True
        sso = s.scalar(select(User).where(User.email == single_sign_on.email))
        sso.password_hash, sso.sso_provider, sso.sso_subject = NO_PASSWORD, "oidc", "sub-1"
    expected = {staff.email: False, emergency.email: True, approver.email: True, admin.email: True,
                single_sign_on.email: False}
    with transaction(sessions) as s:
        assert {u.email: factors.required(u) for u in s.scalars(select(User))} == expected
    listed = {u["email"]: u["sign_in"]["second_factor_required"]
              for u in client.get("/api/v1/users", headers=admin.auth).json()["items"]}
    assert listed == expected
    for email, must in expected.items():
        if email == single_sign_on.email:
            continue
        c = browser()
        password_step(c, email)
        went = c.get("/staff/", follow_redirects=False)
        assert (went.headers.get("location") == "/staff/account#second-factors") is must, email


def test_a_site_reached_by_its_ip_address_says_how_to_get_passkeys_and_offers_no_passkey_form(browser, people):
    # The tests' address is http://127.0.0.1:8000: a passkey's site must be a name (WebAuthn refuses an IP).
    people.department("parks")
    c = browser()
    assert password_step(c, people.person(Role.staff, ("parks",)).email).status_code == 303
    page = c.get("/staff/account")
    assert "Passkeys need the site to have a name" in page.text and "http://localhost:8000" in page.text
    assert 'data-passkey="register"' not in page.text

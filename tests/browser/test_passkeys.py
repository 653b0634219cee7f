"""Passkeys for real (issue 18): Debian's Chromium with the DevTools virtual authenticator adds a
passkey on the account page and gives it at the second sign-in step; a passkey's answer is good for
one challenge once, a registration answer is not taken twice, and a removed passkey signs no one in.

The server is reached at http://localhost:<port> (a relying party id may not be an IP address) and
requires a second factor of approvers and admins, as production does.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy import Engine, func, select

from civicpost import accounts
from civicpost.config import Settings
from civicpost.db import make_sessionmaker, transaction
from civicpost.models import Role, SecondFactor, User
from civicpost.models.identity import PASSKEY
from tests.browser.conftest import PASSWORD, bind_free_port, serve_in_thread
from tests.conftest import TEST_SECRET, empty_tables

pytestmark = pytest.mark.browser

AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True}
SIGN_IN_ANSWER = "/staff/login/second-factor/passkey"
REGISTER_ANSWER = "/staff/account/passkeys"


@dataclass
class Server:
    url: str
    settings: Settings
    engine: Engine
    count: int = 0

    def person(self, role: Role = Role.admin) -> str:
        """A new person with a password and no second factor; their email."""
        self.count += 1
        email = f"keyholder{self.count}@city.example"
        with transaction(make_sessionmaker(self.engine)) as session:
            accounts.create_user(session, actor=None, email=email, name=f"Kim Keyholder {self.count}", role=role,
                                 departments=["parks"] if role == Role.staff else [], password=PASSWORD)
        return email

    def passkeys_of(self, email: str) -> int:
        with transaction(make_sessionmaker(self.engine)) as session:
            user_id = session.scalar(select(User.id).where(User.email == email))
            return session.scalar(select(func.count()).select_from(SecondFactor).where(
                SecondFactor.user_id == user_id, SecondFactor.kind == PASSKEY)) or 0

    def user(self, email: str) -> User:
        with transaction(make_sessionmaker(self.engine)) as session:
            user = session.scalar(select(User).where(User.email == email))
            session.expunge(user)
            return user


@pytest.fixture(scope="module")
def server(engine: Engine, database_url: str, tmp_path_factory) -> Iterator[Server]:
    sock = bind_free_port()
    url = f"http://localhost:{sock.getsockname()[1]}"
    settings = Settings(env="test", database_url=database_url, secret_key=TEST_SECRET, base_url=url,
                        city_name="Springfield", media_dir=tmp_path_factory.mktemp("media"),
                        second_factor_required=True)
    from civicpost.web import create_app

    with transaction(make_sessionmaker(engine)) as session:
        accounts.create_department(session, actor=None, slug="parks", name="Parks and Recreation")
    app = create_app(settings, engine=engine, with_worker=False)
    try:
        running, thread = serve_in_thread(app, sock)
        try:
            yield Server(url=url, settings=settings, engine=engine)
        finally:
            running.should_exit = True
            thread.join(timeout=10)
    finally:
        sock.close()
        empty_tables(engine)


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    made = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    made.set_default_timeout(10_000)
    yield made
    made.close()


def with_authenticator(context: BrowserContext) -> Page:
    """A page whose browser has a platform authenticator (fingerprint or face, already verified)."""
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return page


def password_step(page: Page, email: str, next_path: str = "/staff/") -> None:
    page.goto(f"/staff/login?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Sign out")).click()
    page.wait_for_url("**/staff/login**")


def add_passkey(page: Page, name: str) -> list[str]:
    """Add a passkey on the account page (the person's first factor); the recovery codes shown."""
    page.goto("/staff/account#second-factors")
    page.get_by_label("Name for this passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    return page.locator(".recovery-codes code").all_inner_texts()


def capture(page: Page, path: str) -> list[dict[str, str]]:
    """The form posts sent to `path` from now on, stopped before the server (answered 204: the page stays)."""
    seen: list[dict[str, str]] = []

    def stop(route: Route) -> None:
        seen.append({k: v[0] for k, v in parse_qs(route.request.post_data or "", keep_blank_values=True).items()})
        route.fulfill(status=204)

    page.route(f"**{path}", stop)
    return seen


def first(page: Page, answers: list[dict[str, str]]) -> dict[str, str]:
    """The first captured post, once the page has sent it."""
    for _ in range(100):
        if answers:
            return answers[0]
        page.wait_for_timeout(50)
    raise AssertionError("the page sent no answer")


def post(page: Page, path: str, form: dict[str, str]):
    """What the page's own form would post, sent again by the test with the same browser's cookie."""
    return page.request.post(path, form=form, max_redirects=0)


def test_a_passkey_added_on_the_account_page_signs_in_after_the_password(context: BrowserContext, server: Server):
    email = server.person(Role.admin)
    page = with_authenticator(context)
    password_step(page, email)
    # An admin without a second factor is sent to add one first.
    assert page.url.endswith("/staff/account#second-factors")
    expect(page.get_by_role("alert")).to_contain_text("you must add a second factor")
    codes = add_passkey(page, "work laptop")
    assert len(codes) == 10 and len(set(codes)) == 10
    expect(page.get_by_role("table", name="Your second factors")).to_contain_text("work laptop")
    assert server.passkeys_of(email) == 1

    sign_out(page)
    password_step(page, email, "/staff/announcements")
    assert "/staff/login/second-factor" in page.url
    expect(page.get_by_role("heading", name="Use a passkey")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(f"{server.url}/staff/announcements")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    user = server.user(email)
    assert user.last_sign_in_method == "password+passkey"
    page.goto(f"/staff/users/{user.id}")
    expect(page.get_by_text(re.compile(r"with password and passkey"))).to_be_visible()
    page.goto("/staff/account#second-factors")
    row = page.get_by_role("row", name=re.compile("work laptop"))
    expect(row).not_to_contain_text("never")  # last used: just now


def test_a_passkey_answer_is_good_for_its_own_challenge_once(context: BrowserContext, server: Server):
    email = server.person(Role.approver)
    page = with_authenticator(context)
    password_step(page, email)
    add_passkey(page, "phone")
    sign_out(page)
    password_step(page, email)
    answers = capture(page, SIGN_IN_ANSWER)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_have_text("Checking…")
    genuine = first(page, answers)
    assert json.loads(genuine["credential"])["type"] == "public-key"

    # A tampered signature is refused, and the challenge it came with is spent.
    tampered = json.loads(genuine["credential"])
    tampered["response"]["signature"] = tampered["response"]["signature"][:-4] + "AAAA"
    refused = post(page, SIGN_IN_ANSWER, {**genuine, "credential": json.dumps(tampered)})
    assert refused.status == 401 and "That passkey did not check out" in refused.text()
    spent = post(page, SIGN_IN_ANSWER, genuine)
    assert spent.status == 400 and "That passkey request has ended" in spent.text()
    # Against a new challenge the old answer does not check out either.
    options = page.request.post("/staff/login/second-factor/passkey/options",
                                headers={"X-CSRF-Token": genuine["csrf_token"]})
    assert options.ok and options.json()["rpId"] == "localhost"
    replayed = post(page, SIGN_IN_ANSWER, genuine)
    assert replayed.status == 401

    # The person, asking their passkey again, is in.
    page.unroute(f"**{SIGN_IN_ANSWER}")
    page.reload()
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(f"{server.url}/staff/")
    assert server.user(email).last_sign_in_method == "password+passkey"


def test_a_registration_answer_adds_one_passkey_once(context: BrowserContext, server: Server):
    email = server.person(Role.staff)
    page = with_authenticator(context)
    password_step(page, email)
    page.goto("/staff/account#second-factors")
    answers = capture(page, REGISTER_ANSWER)
    page.get_by_label("Name for this passkey").fill("desk key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_have_text("Checking…")
    genuine = first(page, answers)

    added = post(page, REGISTER_ANSWER, genuine)
    assert added.status == 200 and "Your recovery codes" in added.text()
    again = post(page, REGISTER_ANSWER, genuine)
    assert again.status == 400 and "That passkey request has ended" in again.text()
    page.request.post("/staff/account/passkeys/options", headers={"X-CSRF-Token": genuine["csrf_token"]})
    other_challenge = post(page, REGISTER_ANSWER, genuine)
    assert other_challenge.status == 422 and "could not be checked" in other_challenge.text()
    assert server.passkeys_of(email) == 1


def ceremony(page: Page) -> str:
    """What a browser answers to the second step's options with any passkey it holds for this site."""
    return page.evaluate("""async () => {
      const b64 = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
      const text = b => btoa(String.fromCharCode(...new Uint8Array(b)))
        .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
      const csrf = document.querySelector('input[name=csrf_token]').value;
      const got = await fetch('/staff/login/second-factor/passkey/options',
                              {method: 'POST', headers: {'X-CSRF-Token': csrf}});
      const options = await got.json();
      const made = await navigator.credentials.get({publicKey: {challenge: b64(options.challenge), rpId: options.rpId,
                                                                allowCredentials: [], userVerification: 'preferred'}});
      const r = made.response;
      return JSON.stringify({id: made.id, rawId: text(made.rawId), type: made.type, clientExtensionResults: {},
        response: {clientDataJSON: text(r.clientDataJSON), authenticatorData: text(r.authenticatorData),
                   signature: text(r.signature), userHandle: r.userHandle ? text(r.userHandle) : null}});
    }""")


def test_a_removed_passkey_no_longer_signs_in(context: BrowserContext, server: Server):
    email = server.person(Role.approver)
    page = with_authenticator(context)
    password_step(page, email)
    add_passkey(page, "old laptop")
    # An authenticator app too, so the approver still has a factor once the passkey is gone.
    page.get_by_role("button", name="Add an authenticator app").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and add").click()
    expect(page.get_by_text("The authenticator app is added.")).to_be_visible()

    row = page.get_by_role("row", name=re.compile("old laptop"))
    row.get_by_label("Your password or a current authenticator code").fill(PASSWORD)
    row.get_by_role("button", name="Remove “old laptop”").click()
    expect(page.get_by_text("Removed “old laptop”.")).to_be_visible()
    assert server.passkeys_of(email) == 0

    sign_out(page)
    password_step(page, email)
    assert "/staff/login/second-factor" in page.url
    expect(page.get_by_role("heading", name="Use a passkey")).to_have_count(0)
    # The device still holds the key and signs this very challenge; the server no longer knows it.
    answer = ceremony(page)
    csrf = page.locator("input[name=csrf_token]").first.input_value()
    refused = post(page, SIGN_IN_ANSWER, {"csrf_token": csrf, "credential": answer, "next": "/staff/"})
    assert refused.status == 401 and "That passkey did not check out" in refused.text()
    assert page.context.request.get("/staff/", max_redirects=0).headers["location"].startswith(
        "/staff/login/second-factor")


# --- How the two pages read: axe (light and dark), a 390-px phone, and a browser without JavaScript -----


AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}


def violations_report(name: str, violations: list[dict]) -> str:
    lines = [f"{name}: {len(violations)} WCAG 2.1 A/AA violation(s)"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    at {', '.join(map(str, n['target']))}: {n['html'][:160]}" for n in v["nodes"])
    return "\n".join(lines)


def check_page(page: Page, name: str) -> None:
    """No WCAG 2.1 A/AA violation axe can find in either colour scheme, nothing wider than a 390-px phone."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=f"/tmp/civicpost-{name}-{scheme}.png", full_page=True)
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        assert not violations, violations_report(f"{name} ({scheme})", violations)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"/tmp/civicpost-{name}-390.png", full_page=True)
    wide = page.evaluate("() => Math.max(window.innerWidth, document.documentElement.scrollWidth)")
    assert wide <= 390, (name, wide)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_second_factor_pages_pass_axe_light_and_dark_and_fit_a_phone(context: BrowserContext, server: Server):
    email = server.person(Role.approver)
    page = with_authenticator(context)
    password_step(page, email)
    page.get_by_role("button", name="Add an authenticator app").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    check_page(page, "account-totp-enrolment")
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and add").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    check_page(page, "account-recovery-codes")
    page.get_by_label("Name for this passkey").fill("work laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("The passkey is added.")).to_be_visible()
    check_page(page, "account-second-factors")

    sign_out(page)
    password_step(page, email)
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    check_page(page, "login-second-factor")
    page.get_by_label("Six-digit code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    check_page(page, "login-second-factor-wrong-code")


def shown_without_script(page: Page) -> str:
    """The text of the page's <noscript> parts as shown (Playwright's text locators skip <noscript>)."""
    return " ".join(page.evaluate(
        "() => [...document.querySelectorAll('noscript > *')].filter(e => e.getBoundingClientRect().height > 0)"
        ".map(e => e.innerText)"))


def test_without_javascript_the_pages_say_what_to_do_instead(browser: Browser, server: Server,
                                                             context: BrowserContext):
    email = server.person(Role.approver)
    page = with_authenticator(context)
    password_step(page, email)
    codes = add_passkey(page, "work laptop")

    no_script = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = no_script.new_page()
        password_step(page, email, "/staff/account")
        expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
        said = shown_without_script(page)
        assert "Passkeys need JavaScript, which is off in this browser. Use a recovery code instead." in said
        expect(page.get_by_role("button", name="Use a passkey")).to_be_hidden()
        page.screenshot(path="/tmp/civicpost-login-second-factor-no-script.png", full_page=True)
        page.get_by_role("textbox", name="Recovery code").fill(codes[0])
        page.get_by_role("button", name="Use recovery code").click()
        page.wait_for_url(f"{server.url}/staff/account")
        expect(page.get_by_role("status").filter(has_text="used up")).to_contain_text("9 recovery codes left")
        assert "Adding a passkey needs JavaScript, which is off in this browser." in shown_without_script(page)
        expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
        # The authenticator app needs no script: its QR code comes with the page.
        page.get_by_role("button", name="Add an authenticator app").click()
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        page.screenshot(path="/tmp/civicpost-account-no-script.png", full_page=True)
    finally:
        no_script.close()

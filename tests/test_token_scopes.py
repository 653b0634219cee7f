"""Scoped API tokens (read, draft, approve): what each scope lets a program do, how tokens get their
scopes at the command line, on the account page and through the API, and the rule that a token which
may approve, made on the web or through the API, needs its owner to have a second factor or single sign-on."""

import re
from datetime import timedelta

import pytest
from fastapi import routing as fastapi_routing
from sqlalchemy import update
from typer.testing import CliRunner

from civicpost import config
from civicpost.cli import app as cli_app
from civicpost.db import transaction, utcnow
from civicpost.models import TOTP, ApiToken, SecondFactor, User
from civicpost.web.deps import SAFE_METHODS
from civicpost.web.route_scopes import ROUTE_SCOPES
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, POOL, create_draft
from tests.pages import csrf_of


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cli(database_url, monkeypatch):
    """`civicpost ...` in this process, on the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("CIVICPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("CIVICPOST_SECRET_KEY", TEST_SECRET)
    config.get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli_app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield run
    config.get_settings.cache_clear()


def cli_token(cli, *args: str) -> str:
    code, out, err = cli("token", "create", *args)
    assert code == 0, err
    return out.strip().splitlines()[-1]


def give_second_factor(sessions, user_id: int, *, confirmed: bool = True) -> None:
    with transaction(sessions) as session:
        session.add(SecondFactor(user_id=user_id, kind=TOTP, name="phone", secret=b"sealed",
                                 confirmed_at=utcnow() if confirmed else None))


def submitted(client, city) -> dict:
    a = create_draft(client, city.parks_staff, channels=city.parks_channels)
    r = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    assert r.status_code == 200, r.text
    return r.json()


def approve(client, headers, announcement: dict):
    seen = client.get(f"/api/v1/announcements/{announcement['id']}", headers=headers)
    assert seen.status_code == 200, seen.text
    return client.post(f"/api/v1/announcements/{announcement['id']}/approve", headers=headers,
                       json={"fingerprint": seen.json()["fingerprint"]})


# --- The command line ---------------------------------------------------------


def test_the_command_line_gives_each_person_by_default_what_they_may_do_and_lists_scopes(cli, city):
    code, out, err = cli("token", "create", city.parks_staff.email, "--name", "sync")
    assert code == 0 and "scopes read draft" in err
    code, out, err = cli("token", "create", city.approver.email, "--name", "approvals bot")
    assert code == 0 and "scopes read draft approve" in err
    code, out, _ = cli("token", "list")
    assert code == 0
    header, *rows = out.splitlines()
    assert "scopes" in header.split()
    assert any("sync" in row and "read,draft " in row for row in rows)
    assert any("approvals bot" in row and "read,draft,approve" in row for row in rows)


def test_the_command_line_makes_exactly_the_scopes_asked_for_and_refuses_what_the_person_may_not_hold(cli, client, city):
    reader = cli_token(cli, city.parks_staff.email, "--scope", "read")
    assert client.get("/api/v1/announcements", headers=bearer(reader)).status_code == 200
    r = client.post("/api/v1/announcements", headers=bearer(reader), json={"department": "parks", "title": "x", "body": "y"})
    assert r.status_code == 403 and "'draft' scope" in r.json()["detail"]

    code, _, err = cli("token", "create", city.parks_staff.email, "--scope", "approve")
    assert code == 2 and "only approvers, administrators and emergency publishers" in err
    code, _, err = cli("token", "create", city.parks_staff.email, "--scope", "publish")
    assert code == 2 and "unknown scope 'publish'" in err and "read, draft or approve" in err
    assert "Traceback" not in err


def test_an_approve_token_made_at_the_command_line_needs_no_second_factor(cli, client, city):
    token = cli_token(cli, city.approver.email, "--scope", "read", "--scope", "approve")
    r = approve(client, bearer(token), submitted(client, city))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "scheduled"


def test_a_token_from_the_command_line_can_expire(cli, client, city, sessions):
    token = cli_token(cli, city.parks_staff.email, "--expires-in-days", "2")
    assert client.get("/api/v1/users/me", headers=bearer(token)).status_code == 200
    with transaction(sessions) as session:
        session.execute(update(ApiToken).where(ApiToken.prefix == token[:10])
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
    r = client.get("/api/v1/users/me", headers=bearer(token))
    assert r.status_code == 401 and "expired" in r.json()["detail"]


# --- What each scope allows ---------------------------------------------------


def test_read_draft_and_approve_each_allow_their_own_routes_and_refuse_others_naming_the_scope(cli, client, city):
    reader = bearer(cli_token(cli, city.parks_staff.email, "--scope", "read"))
    drafter = bearer(cli_token(cli, city.parks_staff.email, "--scope", "draft"))
    approver_only = bearer(cli_token(cli, city.approver.email, "--scope", "approve"))

    assert client.get("/api/v1/announcements", headers=reader).status_code == 200
    refused = client.post("/api/v1/media", headers=reader, files={"file": ("a.png", b"x", "image/png")})
    assert refused.status_code == 403
    assert "'draft' scope" in refused.json()["detail"] and "/staff/account" in refused.json()["detail"]
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="draft"'

    # Draft writes and submits, and reads (every scope includes reading).
    a = client.post("/api/v1/announcements", headers=drafter, json={**POOL, "channels": city.parks_channels}).json()
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=drafter).status_code == 200
    r = client.post(f"/api/v1/announcements/{a['id']}/comments", headers=drafter, json={"body": "Check the time"})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=drafter)
    assert r.status_code == 200, r.text

    # Approve approves, but does not write drafts.
    r = client.post("/api/v1/announcements", headers=approver_only, json={"department": "parks", "title": "t", "body": "b"})
    assert r.status_code == 403 and "'draft' scope" in r.json()["detail"]
    assert approve(client, approver_only, a).status_code == 200
    r = client.post(f"/api/v1/announcements/{a['id']}/retract", headers=drafter)
    assert r.status_code == 403
    assert "'approve' scope" in r.json()["detail"]
    assert "only tokens of approvers, administrators and emergency publishers" in r.json()["detail"]


def test_an_admin_token_without_approve_cannot_administer(cli, client, city):
    admin_drafter = bearer(cli_token(cli, city.admin.email, "--scope", "read", "--scope", "draft"))
    assert client.get("/api/v1/users", headers=admin_drafter).status_code == 200
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=admin_drafter, json={"name": "Pat P"})
    assert r.status_code == 403
    detail = r.json()["detail"]
    assert "'approve' scope" in detail and "civicpost token create EMAIL --scope approve" in detail
    r = client.post("/api/v1/departments", headers=admin_drafter, json={"slug": "roads", "name": "Roads"})
    assert r.status_code == 403
    # Revoking someone else's token is an admin act; revoking your own is not.
    theirs = client.get("/api/v1/tokens", headers=city.admin.auth, params={"user": city.parks_staff.email}).json()
    r = client.delete(f"/api/v1/tokens/{theirs['items'][0]['id']}", headers=admin_drafter)
    assert r.status_code == 403 and "'approve' scope" in r.json()["detail"]
    mine = client.get("/api/v1/tokens", headers=admin_drafter, params={"user": city.admin.email}).json()["items"]
    own_id = [t for t in mine if t["scopes"] == ["read", "draft"]][0]["id"]
    assert client.delete(f"/api/v1/tokens/{own_id}", headers=admin_drafter).status_code == 200


def test_cancelling_a_scheduled_announcement_needs_approve_but_an_authors_draft_does_not(cli, client, city):
    approver_drafter = bearer(cli_token(cli, city.approver.email, "--scope", "draft"))
    a = submitted(client, city)
    assert approve(client, city.approver.auth, a).status_code == 200
    r = client.post(f"/api/v1/announcements/{a['id']}/cancel", headers=approver_drafter)
    assert r.status_code == 403 and "'approve' scope" in r.json()["detail"]
    author_drafter = bearer(cli_token(cli, city.parks_staff.email, "--scope", "draft"))
    own = create_draft(client, city.parks_staff, channels=city.parks_channels)
    r = client.post(f"/api/v1/announcements/{own['id']}/cancel", headers=author_drafter)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


def test_a_token_made_before_scopes_still_does_what_its_owner_may(client, city, sessions):
    with transaction(sessions) as session:
        session.execute(update(ApiToken).where(ApiToken.user_id.in_([city.approver.id, city.parks_staff.id]))
                        .values(scopes=None))
    assert approve(client, city.approver.auth, submitted(client, city)).status_code == 200
    listed = client.get("/api/v1/tokens", headers=city.approver.auth).json()["items"]
    assert listed[0]["scopes"] is None


def test_a_browser_session_is_not_limited_by_scopes(client, city, sign_in):
    browser = sign_in(city.approver)
    a = submitted(client, city)
    page = browser.get(f"/staff/announcements/{a['id']}")
    assert page.status_code == 200 and "Approve" in page.text


def test_every_api_route_is_mapped_to_a_scope_on_purpose(app):
    # FastAPI 0.16x keeps each included router as it was included (iter_route_contexts walks them);
    # before, app.routes held every route itself.
    every_route = getattr(fastapi_routing, "iter_route_contexts", iter)
    routes = set()
    for route in every_route(app.routes):
        if (route.path or "").startswith("/api/"):
            for method in route.methods or ():
                if method != "HEAD":
                    routes.add((method, route.path_format))
    unmapped = sorted(routes - ROUTE_SCOPES.keys())
    assert not unmapped, f"add these to civicpost/web/route_scopes.py: {unmapped}"
    gone = sorted(ROUTE_SCOPES.keys() - routes)
    assert not gone, f"these are in route_scopes.py but no longer routes: {gone}"
    for (method, path), scope in ROUTE_SCOPES.items():
        # Reading is only ever looking; anything that changes something needs draft or approve.
        assert (scope == "read") == (method in SAFE_METHODS), (method, path, scope)


# --- Tokens made through the API ----------------------------------------------


def test_post_tokens_defaults_to_read_and_draft_and_get_tokens_shows_scopes(client, city):
    r = client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": "sync", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == ["read", "draft"] and r.json()["expires_at"] is not None
    listed = client.get("/api/v1/tokens", headers=city.parks_staff.auth).json()["items"]
    assert [t["scopes"] for t in listed if t["name"] == "sync"] == [["read", "draft"]]


def test_an_approve_token_through_the_api_needs_a_second_factor_or_single_sign_on(client, city, sessions):
    ask = {"name": "approvals bot", "scopes": ["read", "approve"]}
    r = client.post("/api/v1/tokens", headers=city.approver.auth, json=ask)
    assert r.status_code == 422
    assert "second factor" in r.json()["detail"] and "/staff/account" in r.json()["detail"]

    give_second_factor(sessions, city.approver.id, confirmed=False)  # shown but never confirmed: not yet
    assert client.post("/api/v1/tokens", headers=city.approver.auth, json=ask).status_code == 422
    give_second_factor(sessions, city.approver.id)
    r = client.post("/api/v1/tokens", headers=city.approver.auth, json=ask)
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == ["read", "approve"]
    assert approve(client, bearer(r.json()["token"]), submitted(client, city)).status_code == 200

    with transaction(sessions) as session:
        session.execute(update(User).where(User.id == city.admin.id).values(sso_provider="oidc", sso_subject="a-1"))
    r = client.post("/api/v1/tokens", headers=city.admin.auth, json=ask)
    assert r.status_code == 201, r.text


def test_post_tokens_refuses_what_the_person_or_the_sending_token_may_not_have(cli, client, city, sessions):
    r = client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": "x", "scopes": ["approve"]})
    assert r.status_code == 422 and "approvers, administrators and emergency publishers" in r.json()["detail"]
    for bad in ([], ["publish"], ["read"] * 4):
        assert client.post("/api/v1/tokens", headers=city.parks_staff.auth,
                           json={"name": "x", "scopes": bad}).status_code == 422
    reader = bearer(cli_token(cli, city.parks_staff.email, "--scope", "read"))
    r = client.post("/api/v1/tokens", headers=reader, json={"name": "x"})
    assert r.status_code == 403 and "'draft' scope" in r.json()["detail"]
    give_second_factor(sessions, city.approver.id)
    drafter = bearer(cli_token(cli, city.approver.email, "--scope", "draft"))
    r = client.post("/api/v1/tokens", headers=drafter, json={"name": "x", "scopes": ["approve"]})
    assert r.status_code == 422 and "more scopes than its own" in r.json()["detail"]


# --- Tokens made on the account page ------------------------------------------


def make_on_account_page(browser, **fields):
    page = browser.get("/staff/account", headers={"Accept": "text/html"})
    return page, browser.post("/staff/account/tokens", headers={"Accept": "text/html"},
                              data={"csrf_token": csrf_of(page.text), **fields})


def test_the_account_page_offers_approve_only_to_those_who_may_hold_it(sign_in, city):
    staff_page = sign_in(city.parks_staff).get("/staff/account").text
    assert 'name="scope" value="read"' in staff_page and 'value="approve"' not in staff_page
    approver_page = sign_in(city.approver).get("/staff/account").text
    assert 'name="scope" value="approve"' in approver_page
    assert "Approve needs a second factor" in approver_page


def test_an_approve_token_on_the_account_page_needs_a_second_factor(sign_in, client, city, sessions):
    browser = sign_in(city.approver)
    _, r = make_on_account_page(browser, name="approvals bot", expires_in_days="7", scope=["read", "approve"])
    assert r.status_code == 422
    assert "second factor" in r.text and 'id="f-scopes-error"' in r.text and "shown this once" not in r.text

    give_second_factor(sessions, city.approver.id)
    _, r = make_on_account_page(browser, name="approvals bot", expires_in_days="7", scope=["read", "approve"])
    assert r.status_code == 200 and "shown this once" in r.text
    token = re.search(r'id="new-token"[^>]*value="(cp_[^"]+)"', r.text).group(1)
    assert approve(client, bearer(token), submitted(client, city)).status_code == 200
    page = browser.get("/staff/account").text
    assert "read, approve" in page


def test_the_account_page_refuses_no_scope_and_a_forged_approve(sign_in, city):
    browser = sign_in(city.parks_staff)
    _, r = make_on_account_page(browser, name="sync")
    assert r.status_code == 422 and "Choose what the token may do" in r.text
    _, r = make_on_account_page(browser, name="sync", scope=["approve"])
    assert r.status_code == 422 and "approvers, administrators and emergency publishers" in r.text
    assert PASSWORD not in r.text

"""Security headers on every response (issue 11, finding 5; SPEC §8.1 "Headers")."""

import pytest
from fastapi.testclient import TestClient

from civicpost.web.headers import POLICY, SecurityHeaders


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


def assert_page_policy(response) -> None:
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


PUBLIC = ["/", "/directory", "/feed.atom", "/feed.json", "/healthz", "/static/site.css", "/docs", "/openapi.json",
          "/no-such-page", "/directory/qr.svg"]


@pytest.mark.parametrize("path", PUBLIC)
def test_every_response_says_nosniff_and_same_origin_referrer(client, path):
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/", "/directory", "/staff/login", "/no-such-page", "/docs"])
def test_every_page_has_a_policy_without_inline_script_and_cannot_be_framed(client, path):
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("text/html")
    assert_page_policy(r)


def test_staff_pages_are_never_stored_and_keep_the_page_policy(client, city, sign_in):
    assert client.get("/staff/login").headers["cache-control"] == "no-store"
    client = sign_in(city.approver)
    for path in ("/staff/login", "/staff/", "/staff/approvals", "/staff/calendar"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-store", path
        assert_page_policy(r)
    # The approve and retract forms live on an announcement's page: framing it is refused too.
    assert client.get("/staff/announcements/new").headers["x-frame-options"] == "DENY"


def test_api_answers_are_never_stored_and_carry_the_common_headers(client, city):
    for r in (client.get("/api/v1/users/me", headers=city.admin.auth),
              client.get("/api/v1/channels"),  # 401
              client.post("/api/v1/departments", headers=city.admin.auth, content=b"x" * (2 * 1024 * 1024))):  # 413
        assert r.headers["cache-control"] == "no-store", r.status_code
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "same-origin"
        assert "content-security-policy" not in r.headers  # JSON: nothing to run, fewer bytes on the hot path


def test_public_pages_feeds_and_files_keep_their_own_caching(client):
    assert client.get("/directory/qr.svg").headers["cache-control"] == "public, max-age=86400"
    for path in ("/", "/feed.atom", "/feed.json", "/static/site.css"):
        assert client.get(path).headers.get("cache-control") != "no-store", path


def headers_of(middleware_app, path: str) -> list[tuple[str, str]]:
    return list(TestClient(middleware_app).get(path).headers.multi_items())  # no lifespan: a bare ASGI app


def test_a_response_with_its_own_policy_keeps_it_and_a_staff_page_loses_any_cache_header_a_handler_set():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/html"), (b"content-security-policy", b"default-src 'none'"),
            (b"cache-control", b"public, max-age=600")]})
        await send({"type": "http.response.body", "body": b"<p>hi</p>"})

    headers = headers_of(SecurityHeaders(app), "/staff/x")
    assert [v for k, v in headers if k == "content-security-policy"] == ["default-src 'none'"]
    assert [v for k, v in headers if k == "cache-control"] == ["no-store"]
    public = headers_of(SecurityHeaders(app), "/announcements/1")
    assert [v for k, v in public if k == "cache-control"] == ["public, max-age=600"]
    assert POLICY not in [v for k, v in public]

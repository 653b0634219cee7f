"""Helpers for staff page tests driven over HTTP (the browser tests live in tests/browser)."""

import re

import pytest
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def sign_in(app):
    """A fresh browser-like client signed in as `person` (cookies kept)."""
    clients: list[TestClient] = []

    def make(person) -> TestClient:
        c = TestClient(app)
        clients.append(c)
        page = c.get("/staff/login")
        r = c.post("/staff/login", data={"email": person.email, "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/staff/"},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        c.close()

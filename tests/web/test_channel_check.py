""""Test connection" on a channel's staff page: it never carries the channel's
token to a refused address, and what the other end answered reaches the page
as a sentence, never as its body (issue 11, finding 9)."""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from civicpost.db import utcnow
from civicpost.models import Channel
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.factories import PASSWORD, channel_fields, create_channel
from tests.pages import csrf_of

TOKEN = "mastodon-token-that-must-stay-home-0123"
SECRET = "db_password=hunter2-internal"


@dataclass
class InternalService:
    """Something on the city's network (here on 127.0.0.1) that answers with what it holds."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def internal_service() -> Iterator[InternalService]:
    service = InternalService()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            service.seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
            body = f"{SECRET}\n{SECRET}\n".encode()
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield service
    server.shutdown()
    server.server_close()


def signed_in_admin(client: TestClient, city) -> TestClient:
    page = client.get("/staff/login")
    r = client.post("/staff/login", data={"email": city.admin.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def channel_at(client: TestClient, city, api_base: str) -> int:
    return create_channel(client, city.admin, "mastodon", credentials={"access_token": TOKEN},
                          settings={"api_base": api_base})


def press_test_connection(admin: TestClient, channel_id: int) -> str:
    token = csrf_of(admin.get(f"/staff/channels/{channel_id}").text)
    r = admin.post(f"/staff/channels/{channel_id}/test", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return admin.get(f"/staff/channels/{channel_id}").text


def test_test_connection_reports_an_internal_answer_as_a_sentence_never_its_body(client, city, internal_service, sessions):
    admin = signed_in_admin(client, city)  # this app allows the private network, so the request goes out
    channel_id = channel_at(client, city, internal_service.url)

    page = press_test_connection(admin, channel_id)

    assert internal_service.seen and internal_service.seen[0]["authorization"] == f"Bearer {TOKEN}"
    assert "The connection test failed: Mastodon answered 500" in page
    for shown in (page, admin.get("/staff/channels").text,
                  client.get(f"/api/v1/channels/{channel_id}", headers=city.admin.auth).text):
        assert "hunter2" not in shown and "db_password" not in shown
    with sessions() as session:
        assert "hunter2" not in session.get(Channel, channel_id).last_error


def test_test_connection_never_sends_the_token_to_a_refused_address(client, city, internal_service, settings, engine,
                                                                    sessions):
    from civicpost.web import create_app

    channel_id = channel_at(client, city, internal_service.url)  # made while the private network was allowed
    with TestClient(create_app(settings.model_copy(update={"allow_private_network": False}), engine=engine)) as strict:
        page = press_test_connection(signed_in_admin(strict, city), channel_id)

    assert internal_service.seen == []  # nothing left the machine, so no token either
    assert "The connection test failed: refused to connect: 127.0.0.1 is a loopback address" in page
    assert "Nothing was sent" in page and TOKEN not in page
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel.needs_attention and "refused to connect" in channel.last_error


@pytest.fixture
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


def test_test_connection_learns_when_a_facebook_token_ends_and_the_page_warns_two_weeks_ahead(client, city, sandbox,
                                                                                            sessions):
    admin = signed_in_admin(client, city)
    credentials, settings = channel_fields("facebook", base=sandbox)
    soon = create_channel(client, city.admin, "facebook", credentials={"page_access_token": "page-token-expiring"},
                          settings=settings, name="Parks Facebook")
    later = create_channel(client, city.admin, "facebook", credentials=credentials, settings=settings,
                           name="Police Facebook")

    page = press_test_connection(admin, soon)
    press_test_connection(admin, later)

    assert "Access ends" in page and re.search(r"Parks Facebook: access ends in [45] days", page)
    ends = {c: client.get(f"/api/v1/channels/{c}", headers=city.admin.auth).json()["health"]["token_expires_at"]
            for c in (soon, later)}
    assert ends[soon] is not None and ends[later] is not None and ends[soon] < ends[later]
    with sessions() as session:
        told = session.get(Channel, later).token_expires_at
        assert told is not None and told - utcnow() > timedelta(days=89)

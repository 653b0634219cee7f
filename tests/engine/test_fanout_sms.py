"""The `subscribers` channel's texts, through a local Twilio-compatible Messages API."""

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from civicpost.db import transaction
from civicpost.models import SubscriberSend
from civicpost.sms.signature import sign
from civicpost.web import create_app
from tests.engine.observing import state_of, wait_for
from tests.factories import create_approved, create_channel, create_texting_subscribers

SID, TOKEN, NUMBER = "AC" + "1" * 32, "sms-token-for-tests", "+15550009999"
REFUSED = "+15550000400"


@dataclass
class Provider:
    """A Messages API on 127.0.0.1 that answers as Twilio's does and keeps what it was sent."""

    url: str
    sent: list[dict[str, str]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)


@pytest.fixture
def provider() -> Iterator[Provider]:
    found: Provider

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            found.auth.append(self.headers.get("Authorization", ""))
            ok = self.path == f"/2010-04-01/Accounts/{SID}/Messages.json" and form.get("To") != REFUSED
            if ok:
                found.sent.append(form)
                body = {"sid": f"SM{len(found.sent):032x}", "status": "queued", "to": form["To"]}
            else:
                body = {"code": 21211, "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                        "status": 400}
            raw = json.dumps(body).encode()
            self.send_response(201 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found = Provider(f"http://127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield found
    server.shutdown()


@pytest.fixture
def sms_settings(fast_settings, provider):
    return fast_settings.model_copy(update={
        "sms_account_sid": SID, "sms_auth_token": SecretStr(TOKEN), "sms_from": NUMBER, "sms_api_base": provider.url,
        "sms_per_second": 50, "smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_starttls": False})


def texting_channel(client, city) -> int:
    return create_channel(client, city.admin, "subscribers", name="Parks texts",
                          settings={"topics": ["parks"], "sms": True})


def rows(sessions) -> dict[int, SubscriberSend]:
    with transaction(sessions) as session:
        return {r.subscriber_id: r for r in session.scalars(select(SubscriberSend))}


def test_each_confirmed_number_gets_one_text_with_the_announcements_page_and_the_provider_id_is_kept(
        client, city, sessions, settings, sms_settings, provider, worker_factory):
    key = settings.fernet_key()
    one, two = create_texting_subscribers(sessions, key, "parks", ["+15550104477", "+15550104478"])
    create_texting_subscribers(sessions, key, "parks", ["+15550104479"], stopped=True)
    create_texting_subscribers(sessions, key, "parks", ["+15550104480"], confirmed=False)
    a = create_approved(client, city, channels=[texting_channel(client, city)], title="Pool opens Saturday")
    worker_factory(settings=sms_settings).start()

    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    assert sorted(m["To"] for m in provider.sent) == ["+15550104477", "+15550104478"]
    text = provider.sent[0]
    assert text["From"] == NUMBER and "Pool opens Saturday" in text["Body"]
    assert text["Body"].endswith(f"/announcements/{a['id']}") and len(text["Body"]) <= 160
    assert text["StatusCallback"] == "http://127.0.0.1:8000/hooks/sms/status"
    assert provider.auth[0] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    found = rows(sessions)
    assert {found[one].state, found[two].state} == {"sent"} and found[one].remote_id.startswith("SM")
    assert found[one].segments == 1
    assert state_of(client, city, a["id"])["residents"]["sent"] == 2


def test_a_number_the_provider_refuses_is_failed_without_the_number_in_the_error(
        client, city, sessions, settings, sms_settings, provider, worker_factory):
    (refused,) = create_texting_subscribers(sessions, settings.fernet_key(), "parks", [REFUSED])
    a = create_approved(client, city, channels=[texting_channel(client, city)])
    worker_factory(settings=sms_settings).start()

    wait_for(lambda: state_of(client, city, a["id"])["state"] in ("published", "failed"))
    row = rows(sessions)[refused]
    assert row.state == "failed" and "21211" in row.last_error and REFUSED not in row.last_error


def test_a_text_the_carrier_did_not_deliver_is_failed_by_the_signed_status_callback(
        client, city, sessions, settings, sms_settings, provider, worker_factory, engine):
    (resident,) = create_texting_subscribers(sessions, settings.fernet_key(), "parks", ["+15550104477"])
    a = create_approved(client, city, channels=[texting_channel(client, city)])
    worker_factory(settings=sms_settings).start()
    wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
    sid = rows(sessions)[resident].remote_id

    fields = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003", "AccountSid": SID}
    url = "http://127.0.0.1:8000/hooks/sms/status"
    with TestClient(create_app(sms_settings, engine=engine)) as hooks:
        forged = hooks.post("/hooks/sms/status", data=fields, headers={"X-Twilio-Signature": "AAAA"})
        assert forged.status_code == 403 and rows(sessions)[resident].state == "sent"
        answer = hooks.post("/hooks/sms/status", data=fields,
                            headers={"X-Twilio-Signature": sign(TOKEN, url, fields.items())})
    assert answer.status_code == 204
    row = rows(sessions)[resident]
    assert row.state == "failed" and row.last_error == "the carrier did not deliver it (undelivered, error 30003)"


def test_over_the_monthly_cap_ordinary_texts_are_skipped_with_why_and_emergencies_still_go(
        client, city, sessions, settings, sms_settings, provider, worker_factory):
    create_texting_subscribers(sessions, settings.fernet_key(), "parks", ["+15550104477", "+15550104478"])
    capped = sms_settings.model_copy(update={"sms_monthly_cap": 1})
    channel = texting_channel(client, city)
    ordinary = create_approved(client, city, channels=[channel])
    worker_factory(settings=capped).start()
    wait_for(lambda: state_of(client, city, ordinary["id"])["state"] == "published")
    assert provider.sent == []
    assert {r.last_error.split(":")[0] for r in rows(sessions).values()} == {
        "over the city's monthly SMS cap (1 segments, 0 used)"}
    assert state_of(client, city, ordinary["id"])["residents"]["skipped"] == 2

    emergency = create_approved(client, city, channels=[channel], emergency=True, title="Boil water")
    wait_for(lambda: state_of(client, city, emergency["id"])["state"] == "published")
    assert len(provider.sent) == 2


def test_in_quiet_hours_an_ordinary_text_waits_for_the_morning(
        client, city, sessions, settings, sms_settings, provider, worker_factory):
    now = datetime.now(UTC).astimezone(settings.zone)
    hours = f"{(now - timedelta(hours=1)):%H}:00-{(now + timedelta(hours=2)):%H}:00"
    (resident,) = create_texting_subscribers(sessions, settings.fernet_key(), "parks", ["+15550104477"])
    a = create_approved(client, city, channels=[texting_channel(client, city)])
    worker_factory(settings=sms_settings.model_copy(update={"sms_quiet_hours": hours})).start()

    wait_for(lambda: rows(sessions).get(resident))
    row = rows(sessions)[resident]
    assert row.state == "pending" and row.next_attempt_at > datetime.now(UTC) + timedelta(minutes=50)
    assert provider.sent == [] and state_of(client, city, a["id"])["residents"]["pending"] == 1


@pytest.fixture
def served_app(engine, fast_settings):
    """The civicpost app on a free 127.0.0.1 port, where the sandbox's status callbacks land."""
    import socket
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server_settings = fast_settings.model_copy(update={"base_url": base, "sms_auth_token": SecretStr(TOKEN),
                                                       "sms_account_sid": SID})
    server = uvicorn.Server(uvicorn.Config(create_app(server_settings, engine=engine), log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield base
    server.should_exit = True
    thread.join(10)
    sock.close()


def test_the_sandbox_plays_the_provider_end_to_end_with_its_signed_delivery_status_callbacks(
        client, city, sessions, settings, fast_settings, worker_factory, served_app):
    from civicpost.sandbox.testing import running_sandbox

    key = settings.fernet_key()
    delivered, lost = create_texting_subscribers(sessions, key, "parks", ["+15550104477", "+15550100003"])
    with running_sandbox() as sandbox:
        played = fast_settings.model_copy(update={
            "sms_account_sid": SID, "sms_auth_token": SecretStr(TOKEN), "sms_from": NUMBER,
            "sms_api_base": f"{sandbox}/sms", "sms_per_second": 50, "base_url": served_app,
            "smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_starttls": False})
        a = create_approved(client, city, channels=[texting_channel(client, city)])
        worker_factory(settings=played).start()
        wait_for(lambda: state_of(client, city, a["id"])["state"] == "published")
        wait_for(lambda: rows(sessions)[lost].state == "failed")
        sent = httpx.get(f"{sandbox}/_sandbox/requests", params={"platform": "sms"}).json()["requests"]
    assert len([r for r in sent if r["method"] == "POST"]) == 2
    assert rows(sessions)[delivered].state == "sent"
    assert rows(sessions)[lost].last_error == "the carrier did not deliver it (undelivered, error 30003)"

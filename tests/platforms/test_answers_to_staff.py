"""What an adapter's error says reaches staff (a delivery's last error, the
channel's health): a short sentence with the platform's own short message,
never the body of the answer. An address that is not the platform (a service
on the city's network) answers with whatever it holds (issue 11, finding 9)."""

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
import respx

from civicpost.platforms import MaybePosted, PlatformError
from tests.factories import make_outgoing

from .recorded.bluesky import BLUESKY_BASE, BLUESKY_CREDENTIALS, bluesky_session
from .recorded.facebook import FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS, GRAPH, PAGE_ID
from .recorded.mastodon import MASTODON_BASE
from .recorded.x import X_BASE, X_CREDENTIALS

SECRET = "db_password=hunter2-internal"
# A body that is not the platform's error format: text, HTML, a bare JSON
# string, or JSON of another shape.
BODIES = {
    "text": (SECRET, "text/plain"),
    "html": (f"<html><body><pre>{SECRET}\n{SECRET}</pre></body></html>", "text/html"),
    "json string": (f'"{SECRET}"', "application/json"),
    "other json": ('{"config": {"%s": true}, "trace": "%s"}' % (SECRET, SECRET), "application/json"),
}


def build(platform: str, settings: dict[str, Any], credentials: dict[str, Any]):
    from civicpost.platforms import build_adapter

    return build_adapter(platform, credentials, settings, timeout=5, allow_private_network=True)


def x(status: int, body: str, content_type: str) -> Callable[[], Any]:
    mock = responses.RequestsMock(assert_all_requests_are_fired=True)
    mock.add(responses.POST, f"{X_BASE}/2/tweets", body=body, status=status, content_type=content_type)
    return mock, lambda: build("x", {"api_base": X_BASE}, X_CREDENTIALS).publish(make_outgoing())


def mastodon(status: int, body: str, content_type: str):
    mock = responses.RequestsMock(assert_all_requests_are_fired=True)
    mock.add(responses.POST, f"{MASTODON_BASE}/api/v1/statuses", body=body, status=status, content_type=content_type)
    return mock, lambda: build("mastodon", {"api_base": MASTODON_BASE}, {"access_token": "tok"}).publish(make_outgoing())


def facebook(status: int, body: str, content_type: str):
    router = respx.mock(assert_all_called=True)
    router.post(f"{GRAPH}/{PAGE_ID}/feed").respond(status, content=body.encode(), headers={"Content-Type": content_type})
    return router, lambda: build("facebook", FACEBOOK_SETTINGS, FACEBOOK_CREDENTIALS).publish(make_outgoing())


def bluesky(status: int, body: str, content_type: str):
    router = respx.mock(assert_all_called=False)
    router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.server.createSession").respond(json=bluesky_session())
    create = router.post(f"{BLUESKY_BASE}/xrpc/com.atproto.repo.createRecord").respond(
        status, content=body.encode(), headers={"Content-Type": content_type})
    # A refused create is looked up (an earlier try may hold the record key); answered alike.
    router.get(url__startswith=f"{BLUESKY_BASE}/xrpc/com.atproto.repo.getRecord").respond(
        status, content=body.encode(), headers={"Content-Type": content_type})

    def act() -> Any:
        try:
            return build("bluesky", {"api_base": BLUESKY_BASE}, BLUESKY_CREDENTIALS).publish(make_outgoing())
        finally:
            assert create.called

    return router, act


def webhook(status: int, body: str, content_type: str):
    router = respx.mock(assert_all_called=True)
    router.post("https://hooks.city.example/in").respond(status, content=body.encode(), headers={"Content-Type": content_type})
    return router, lambda: build("webhook", {"url": "https://hooks.city.example/in"}, {"secret": "s"}).publish(
        make_outgoing(text='{"title": "Pools open"}'))


HTTP_PLATFORMS = {"x": x, "mastodon": mastodon, "facebook": facebook, "bluesky": bluesky, "webhook": webhook}


def raised(mock: Any, act: Callable[[], Any]) -> PlatformError:
    with mock:
        with pytest.raises(PlatformError) as caught:
            act()
    return caught.value


def assert_fit_for_staff(error: PlatformError) -> None:
    message = str(error)
    assert "hunter2" not in message and "db_password" not in message, message
    assert "\n" not in message and len(message) <= 300, message


@pytest.mark.parametrize("status", [400, 500, 502])
@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("platform", sorted(HTTP_PLATFORMS))
def test_an_error_answer_is_reported_by_status_never_by_its_body(platform: str, body: str, status: int) -> None:
    error = raised(*HTTP_PLATFORMS[platform](status, *BODIES[body]))

    assert_fit_for_staff(error)
    # The status, or (where the SDK chokes on the answer before it says the status) that it was not the platform's.
    assert str(status) in str(error) or "answer is not what" in str(error), str(error)


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("platform", sorted(HTTP_PLATFORMS))
def test_a_success_answer_that_is_not_the_platforms_is_reported_without_its_body(platform: str, body: str) -> None:
    mock, act = HTTP_PLATFORMS[platform](200, *BODIES[body])
    with mock:
        try:
            act()  # a webhook receiver may answer anything: it posted
        except PlatformError as error:
            assert_fit_for_staff(error)


def test_the_platforms_own_short_message_is_kept_and_shortened() -> None:
    long_words = "Validation failed: Text character limit of 500 exceeded " + "x" * 400
    error = raised(*mastodon(422, '{"error": "%s"}' % long_words, "application/json"))

    assert "Mastodon answered 422" in str(error) and "Validation failed: Text character limit" in str(error)
    assert len(str(error)) <= 220


def test_facebook_shows_graphs_error_message_not_the_rest_of_the_body() -> None:
    body = '{"error": {"message": "Invalid OAuth access token.", "code": 190, "debug": "%s"}}' % SECRET
    error = raised(*facebook(400, body, "application/json"))

    assert "Invalid OAuth access token." in str(error) and "code 190" in str(error)
    assert_fit_for_staff(error)


def test_a_write_answered_2xx_with_something_else_may_have_posted_and_is_reconciled() -> None:
    error = raised(*mastodon(200, SECRET, "text/plain"))

    assert isinstance(error, MaybePosted)
    assert "not with Mastodon's JSON" in str(error)


@pytest.fixture
def not_a_mail_server() -> Iterator[tuple[str, int]]:
    """A TCP service on 127.0.0.1 that greets with what it holds."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    calls: list[bool] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            calls.append(True)
            with connection:
                connection.sendall(f"{SECRET}\r\n{SECRET}\r\n".encode())

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()
    server.close()
    assert calls, "the fake service was never connected to"


def test_an_smtp_host_that_is_not_a_mail_server_is_reported_without_what_it_said(not_a_mail_server) -> None:
    host, port = not_a_mail_server
    settings = {"smtp_host": host, "smtp_port": port, "starttls": False, "from": "news@city.example", "to": ["a@city.example"]}
    adapter = build("email", settings, {})

    for act in (lambda: adapter.publish(make_outgoing()), adapter.check):
        with pytest.raises(PlatformError) as caught:
            act()
        assert_fit_for_staff(caught.value)
        assert "did not answer as a mail server does" in str(caught.value)

import email
import email.policy
import socket
from email.message import Message

import pytest

from civicpost.platforms import CredentialsError, MaybePosted, PermanentError, TransientError
from civicpost.platforms.email.adapter import EmailAdapter
from tests.factories import OUTGOING_KEY as KEY
from tests.factories import make_outgoing

from .servers import SmtpServer


def adapter(server: SmtpServer, **credentials: str) -> EmailAdapter:
    return EmailAdapter(credentials, server.settings(), timeout=5)


def received(server: SmtpServer) -> Message:
    (envelope,) = server.behaviour.messages
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def test_an_announcement_arrives_with_subject_text_and_html_parts_to_every_recipient(smtp_server: SmtpServer) -> None:
    outgoing = make_outgoing(text="Pools open Saturday.", extra={"subject": "Pools open — Parks", "html": "<p>Pools open <b>Saturday</b>.</p>"})

    receipt = adapter(smtp_server).publish(outgoing)

    message = received(smtp_server)
    assert smtp_server.behaviour.messages[0].rcpt_tos == ["residents@lists.city.example", "press@city.example"]
    assert message["Subject"] == "Pools open — Parks"
    assert message["Message-ID"] == f"<{KEY}@city.example>" == receipt.remote_id
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()}
    assert parts["text/plain"].strip() == "Pools open Saturday."
    assert "<b>Saturday</b>" in parts["text/html"]


def test_the_channel_login_is_used_when_credentials_are_set(smtp_server: SmtpServer) -> None:
    adapter(smtp_server, username="comms", password="right").publish(make_outgoing())

    assert len(smtp_server.behaviour.messages) == 1


def test_a_wrong_password_is_a_credentials_error(smtp_server: SmtpServer) -> None:
    with pytest.raises(CredentialsError):
        adapter(smtp_server, username="comms", password="wrong").check()


def test_a_4xx_refusal_is_transient_and_a_5xx_refusal_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.behaviour.rcpt_reply = "450 4.2.1 Mailbox busy, try later"
    with pytest.raises(TransientError):
        adapter(smtp_server).publish(make_outgoing())

    smtp_server.behaviour.rcpt_reply = "550 5.1.1 No such list"
    with pytest.raises(PermanentError):
        adapter(smtp_server).publish(make_outgoing())


def test_a_server_that_cannot_be_reached_is_transient_not_maybe_posted(smtp_server: SmtpServer) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings = smtp_server.settings() | {"smtp_port": closed.getsockname()[1]}
    with pytest.raises(TransientError) as caught:
        EmailAdapter({}, settings, timeout=5).publish(make_outgoing())
    assert not isinstance(caught.value, MaybePosted)


def test_email_cannot_be_found_or_unsent(smtp_server: SmtpServer) -> None:
    mail = adapter(smtp_server)

    assert mail.find(make_outgoing()) is None
    with pytest.raises(PermanentError, match="cannot be unsent"):
        mail.delete(f"<{KEY}@city.example>")

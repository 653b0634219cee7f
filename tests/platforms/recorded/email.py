"""Email through a real local SMTP server (servers.py): its replies are the
recorded answers, and what it received is what must have been asked."""

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any

from civicpost.platforms import Outgoing

from ..servers import SmtpServer
from ._base import LATE_S, Post, Recorded, no_such_answer


class RecordedEmail(Recorded):
    platform = "email"
    fixtures = ("smtp_server",)

    def __init__(self, *, smtp_server: SmtpServer) -> None:
        super().__init__()
        self.server = smtp_server
        self.credentials: dict[str, str] = {}

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.credentials, self.server.settings()

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        behaviour = self.server.behaviour
        if case == "timeouts":
            no_such_answer("an SMTP server cannot see the client's timeout: the late answer checks it")
        if case == "rate_limited":
            no_such_answer("SMTP has no rate limit answer with a reset time")
        sent_before = len(behaviour.messages)
        if case == "bad_credentials":
            self.credentials = {"username": "comms", "password": "wrong"}
        elif case == "server_error":
            behaviour.rcpt_reply = "451 4.3.0 Mail server temporarily rejected message"
        elif case == "rejected":
            behaviour.data_reply = "554 5.7.1 Message rejected as spam"
        elif case == "late":
            behaviour.data_delay_s = LATE_S
        elif case not in ("publish", "delete", "check"):
            raise self.unknown(case)
        yield None
        delivered = len(behaviour.messages) - sent_before
        assert delivered == (1 if case in ("publish", "delete") else 0), f"{delivered} messages delivered"
        if case in ("server_error", "rejected", "late"):
            assert behaviour.recipients_asked, "the server was never asked to take the message"

    def posts(self) -> list[Post]:
        return [Post(message["Message-ID"], _text(message)) for message in self._messages()]

    def _messages(self) -> list[Message]:
        return [message_from_bytes(envelope.original_content or b"") for envelope in self.server.behaviour.messages]


def _text(message: Message) -> str:
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    text = payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
    # As written, before SMTP's line endings and the final newline of a text part.
    return text.replace("\r\n", "\n").removesuffix("\n")

"""Email to a list address (or a few subscribers) over SMTP.

An email cannot be looked up or unsent: `find` returns None, so a send that
may have gone through ends `unknown` for a person to check; `delete` refuses.
The Message-ID is derived from the delivery key, so a person (or a future
reconciliation reading the list archive) can recognise the message.
"""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from civicpost.platforms._support import plain, short
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    CredentialsError,
    MaybePosted,
    Outgoing,
    PermanentError,
    Receipt,
    TransientError,
)


def message_id(key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip("> ") or "civicpost.invalid"
    return f"<{key}@{domain}>"


class EmailAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        missing = {"smtp_host", "from", "to"} - {name for name, value in settings.items() if value}
        if missing:
            raise PermanentError(f"email channel lacks {', '.join(sorted(missing))}")
        self._host = str(settings["smtp_host"])
        self._port = int(settings.get("smtp_port") or 587)
        self._starttls = bool(settings.get("starttls", True))
        self._sender = str(settings["from"])
        to = settings["to"]
        self._to: list[str] = [to] if isinstance(to, str) else list(to)
        self._username = credentials.get("username")
        self._password = credentials.get("password")
        self._timeout = timeout
        self._guard = guard

    def publish(self, outgoing: Outgoing) -> Receipt:
        message = self._compose(outgoing)
        sent = False
        if self._guard is not None:
            self._guard.check_host(self._host, self._port)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                # From here on the server may have the message even if the
                # connection then fails: such a failure is MaybePosted.
                sent = True
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise CredentialsError(_said(exc)) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"SMTP server cannot do what the channel asks: {short(exc)}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = TransientError if all(400 <= code < 500 for code in codes) else PermanentError
            refused = "; ".join(
                f"{address}: {_words(code, said, 80)}" for address, (code, said) in exc.recipients.items())
            raise error(f"recipients refused: {short(refused)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise (TransientError if 400 <= exc.smtp_code < 500 else PermanentError)(_said(exc)) from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            if sent:
                raise MaybePosted(f"SMTP connection lost while sending: {plain(exc)}") from exc
            raise TransientError(f"cannot reach SMTP server: {plain(exc)}") from exc
        return Receipt(remote_id=message["Message-ID"], part_ids=[message["Message-ID"]])

    def delete(self, remote_id: str) -> None:
        raise PermanentError("email cannot be unsent")

    def find(self, outgoing: Outgoing) -> Receipt | None:
        return None

    def check(self) -> dict[str, Any]:
        if self._guard is not None:
            self._guard.check_host(self._host, self._port)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.noop()
        except smtplib.SMTPAuthenticationError as exc:
            raise CredentialsError(_said(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            raise (TransientError if 400 <= exc.smtp_code < 500 else PermanentError)(_said(exc)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"cannot reach SMTP server: {plain(exc)}") from exc
        return {"smtp_host": self._host, "recipients": len(self._to)}

    def _compose(self, outgoing: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = outgoing.extra.get("subject") or outgoing.title
        message["From"] = self._sender
        message["To"] = ", ".join(self._to)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(outgoing.key, self._sender)
        message.set_content(outgoing.text)
        if outgoing.extra.get("html"):
            message.add_alternative(outgoing.extra["html"], subtype="html")
        for item in outgoing.media:
            maintype, _, subtype = item.mime_type.partition("/")
            message.add_attachment(item.path.read_bytes(), maintype=maintype, subtype=subtype, filename=item.path.name)
        return message


def _said(exc: smtplib.SMTPResponseException) -> str:
    return _words(exc.smtp_code, exc.smtp_error)


def _words(code: int, said: bytes | str, limit: int = 160) -> str:
    """The server's reply code and its short text. Something that is not a
    mail server (smtp_host pointed at another service) gets no code, and its
    answer is not repeated: it could hold anything."""
    if not 200 <= code < 600:
        return "the server did not answer as a mail server does: check the channel's smtp_host and smtp_port"
    text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    return f"{code} {short(text, limit)}"

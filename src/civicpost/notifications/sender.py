"""Sending claimed notifications: mail through the city's SMTP server, posts to
departments' chat hooks. Each send happens outside any transaction; its
outcome is written in a transaction of its own (see claims.py)."""

import logging
import random
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civicpost import net
from civicpost.config import Settings
from civicpost.db import transaction, utcnow
from civicpost.models import Announcement, State
from civicpost.notifications import claims, hooks
from civicpost.notifications.claims import Message
from civicpost.security import CredentialBox

if TYPE_CHECKING:
    from civicpost.notifications.wording import Wording

log = logging.getLogger(__name__)

BATCH = 50


class SendFailed(Exception):
    """A send that did not go through; the message is short and safe to show."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender:
    """Runs as one of the worker's APScheduler jobs (`run_once`); any number of
    workers may run it side by side: a row is leased to one of them."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, name: str, batch: int = BATCH) -> None:
        self.settings = settings
        self.batch = batch
        self.sessions = sessions
        self.name = name
        self.box = CredentialBox(settings.fernet_key())
        self._wording: Wording | None = None
        self.window = timedelta(minutes=settings.notify_digest_minutes)

    def run_once(self) -> int:
        """Claim what is due, send it, record it; returns how many messages went out."""
        sent = 0
        while True:
            with transaction(self.sessions) as session:
                messages = claims.claim(session, owner=self.name, now=utcnow(), limit=self.batch,
                                        lease_seconds=self.settings.lease_seconds, digest_window=self.window)
            for message in self._without_undeliverable(messages):
                try:
                    sent += self._deliver(message)
                except Exception:  # noqa: BLE001 - the lease runs out and the row is tried again
                    log.exception("notification %s could not be handled; it will be tried again", message.ids)
            if len(messages) < self.batch:
                return sent

    def _without_undeliverable(self, messages: list[Message]) -> list[Message]:
        """Mark what no mail can carry (a person who left, no mail server set) as skipped, in one
        transaction for the whole claim; the rest is to be sent."""
        skipped: dict[str, list[int]] = {}
        rest: list[Message] = []
        for message in messages:
            why = self._undeliverable(message)
            if why:
                skipped.setdefault(why, []).extend(message.ids)
            else:
                rest.append(message)
        if skipped:
            with transaction(self.sessions) as session:
                for why, ids in skipped.items():
                    claims.mark_skipped(session, ids, owner=self.name, why=why)
        return rest

    def _undeliverable(self, message: Message) -> str:
        if message.user_id is not None and not message.active:
            return "the person's account is deactivated"
        if message.user_id is not None and not self.settings.smtp_host:
            return "no mail server is set (CIVICPOST_SMTP_HOST)"
        return ""

    def _deliver(self, message: Message) -> int:
        skipped, why = self._not_to_send(message)
        if skipped:
            with transaction(self.sessions) as session:
                claims.mark_skipped(session, skipped, owner=self.name, why=why)
            message.ids = [i for i in message.ids if i not in skipped]
            message.items = [item for item in message.items if item["id"] not in skipped]
            if not message.ids:
                return 0
        url = None
        if message.department_id is not None:
            with self.sessions() as session:
                url = hooks.hook_url(session, message.department_id, self.box)
            if url is None:
                with transaction(self.sessions) as session:
                    claims.mark_skipped(session, message.ids, owner=self.name, why="the department's hook was removed")
                return 0
        try:
            if url is not None:
                self._post(url, self.wording.hook(message))
            else:
                self._mail(message)
        except SendFailed as exc:
            retry_at = None if exc.permanent or message.attempts >= self.settings.max_attempts else \
                utcnow() + timedelta(seconds=self._backoff(message.attempts))
            log.warning("notification %s not sent (attempt %d): %s", message.ids, message.attempts, exc)
            with transaction(self.sessions) as session:
                claims.mark_failed_attempt(session, message, owner=self.name, error=str(exc), retry_at=retry_at,
                                           digest_window=self.window)
            return 0
        with transaction(self.sessions) as session:
            claims.mark_sent(session, message.ids, owner=self.name, now=utcnow())
        return 1

    def _not_to_send(self, message: Message) -> tuple[list[int], str]:
        """Rows of a digest to leave unsent: items no longer waiting for approval."""
        if message.event != "waiting":
            return [], ""
        wanted = {item["announcement_id"] for item in message.items}
        with self.sessions() as session:
            still = set(session.scalars(select(Announcement.id).where(
                Announcement.id.in_(wanted), Announcement.state == State.submitted)))
        return [item["id"] for item in message.items if item["announcement_id"] not in still], \
            "no longer waiting for approval"

    @property
    def wording(self) -> "Wording":
        # Built at the first message: a worker that never sends one keeps its templates unloaded.
        if self._wording is None:
            from civicpost.notifications.wording import Wording

            self._wording = Wording(self.settings)
        return self._wording

    def _backoff(self, attempts: int) -> float:
        wait = min(self.settings.retry_max_seconds, self.settings.retry_base_seconds * 2 ** max(0, attempts - 1))
        return wait * random.uniform(0.8, 1.0)

    # -- the two ways out ------------------------------------------------------

    def _mail(self, message: Message) -> None:
        s = self.settings
        words = self.wording.mail(message)
        mail = EmailMessage()
        mail["Subject"] = words.subject
        mail["From"] = s.smtp_from
        mail["To"] = message.email or ""
        mail["Date"] = formatdate(localtime=False)
        domain = s.smtp_from.rpartition("@")[2].strip("> ") or "civicpost.invalid"
        # The same for every attempt: a copy sent again after a lost lease can be recognised.
        mail["Message-ID"] = f"<notification-{min(message.ids)}-{len(message.ids)}@{domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(words.text)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.publish_timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value() if s.smtp_password else "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendFailed(f"the mail server refused {message.email}: {_reply(*next(iter(exc.recipients.values())))}",
                             permanent=all(code >= 500 for code in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed(f"the mail server refused civicpost's sign-in ({_reply(exc.smtp_code, exc.smtp_error)}): "
                             "check CIVICPOST_SMTP_USERNAME and CIVICPOST_SMTP_PASSWORD") from None
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"the mail server answered {_reply(exc.smtp_code, exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"cannot reach the mail server {s.smtp_host}:{s.smtp_port} ({type(exc).__name__})") \
                from None

    def _post(self, url: str, text: str) -> None:
        import httpx  # here, not at the top: most workers never post to a hook, and idle memory counts

        host = hooks.urlsplit(url).hostname or "the hook"
        if not self.settings.allow_private_network:
            try:
                net.check_url(url)
            except (net.AddressRefused, net.Unresolvable) as exc:
                raise SendFailed(f"not sent to {host}: {exc}") from None
        try:
            # No redirects: a hook that answers with one would lead past the address check.
            response = httpx.post(url, json={"text": text}, timeout=self.settings.publish_timeout_seconds,
                                  follow_redirects=False)
        except httpx.HTTPError as exc:
            raise SendFailed(f"cannot reach {host} ({type(exc).__name__})") from None
        if response.is_success:
            return
        status = response.status_code
        permanent = 400 <= status < 500 and status not in (408, 429)
        hint = ": the hook may have been removed in Slack or Teams; set a new one" if permanent else ""
        raise SendFailed(f"{host} answered HTTP {status}{hint}", permanent=permanent)


def _reply(code: int, said: bytes | str) -> str:
    text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
    return f"{code} {' '.join(text.split())[:120]}"

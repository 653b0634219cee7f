"""Sends the fan-out's rows over a small pool of SMTP connections, in one asyncio thread.

The claim, the reading of addresses and the copying of each letter run in a helper thread (the
database is synchronous); the connections only send. Outcomes are written in batches. Nothing
is sent inside a transaction: claim and commit, send, then record in a new transaction.
"""

import asyncio
import logging
import re
import threading
from dataclasses import dataclass

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civicpost.config import Settings
from civicpost.db import transaction, utcnow
from civicpost.fanout import queue
from civicpost.fanout.message import Letter, Person
from civicpost.models import Channel, Delivery, Subscriber, Subscription
from civicpost.subscribers.crypto import AddressUnreadable, SubscriberBox

log = logging.getLogger(__name__)

BATCH = 200
RECORD_EVERY_SECONDS = 0.2
IDLE_POLL_SECONDS = 1.0
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


@dataclass(frozen=True)
class Item:
    row: queue.Claimed
    to: str
    message: bytes
    sender: str


class FanoutSender:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, name: str,
                 connections: int | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.name = name
        self.connections = connections or settings.fanout_connections
        self.box = SubscriberBox(settings.fernet_key())
        self._letters: dict[int, Letter | None] = {}
        self._topics: dict[int, set[int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self.run()), name="fanout", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self.wake()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    # -- the loop ------------------------------------------------------------

    async def run(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        waiting: asyncio.Queue[Item | None] = asyncio.Queue()
        results: list[queue.Result] = []
        senders = [asyncio.create_task(self._connection(waiting, results)) for _ in range(self.connections)]
        recorder = asyncio.create_task(self._recorder(results))
        try:
            while not self._stopping.is_set():
                if waiting.qsize() >= BATCH:
                    await asyncio.sleep(0.01)
                    continue
                try:
                    items, skipped = await asyncio.to_thread(self._claim_and_prepare)
                except Exception:  # noqa: BLE001 - a database hiccup must not stop the fan-out
                    log.exception("fan-out %s: claiming failed; trying again shortly", self.name)
                    items, skipped = [], []
                    await asyncio.sleep(2)
                results.extend(skipped)
                for item in items:
                    waiting.put_nowait(item)
                if not items and not skipped:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), IDLE_POLL_SECONDS)
                    except TimeoutError:
                        pass
        finally:
            unsent = [waiting.get_nowait() for _ in range(waiting.qsize())]
            for _ in senders:
                waiting.put_nowait(None)
            await asyncio.gather(*senders, return_exceptions=True)
            recorder.cancel()
            await asyncio.to_thread(self._record, results[:])
            with transaction(self.sessions) as session:
                queue.release(session, [item.row for item in unsent if item is not None], owner=self.name)

    async def _recorder(self, results: list[queue.Result]) -> None:
        while True:
            await asyncio.sleep(RECORD_EVERY_SECONDS)
            if results:
                batch = results[:]
                del results[:len(batch)]
                try:
                    await asyncio.to_thread(self._record, batch)
                except Exception:  # noqa: BLE001 - the leases run out and the rows are sent again
                    log.exception("fan-out %s: recording %d outcomes failed", self.name, len(batch))

    async def _connection(self, waiting: asyncio.Queue[Item | None], results: list[queue.Result]) -> None:
        smtp: aiosmtplib.SMTP | None = None
        try:
            while (item := await waiting.get()) is not None:
                try:
                    if smtp is None:
                        smtp = await self._connect()
                    await smtp.sendmail(item.sender, [item.to], item.message)
                    results.append(queue.Result(item.row))
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients[0]
                    results.append(_refused(item, refused.code, refused.message))
                except aiosmtplib.SMTPResponseException as exc:
                    results.append(_refused(item, exc.code, exc.message))
                    if exc.code in (421,) or not 400 <= exc.code < 600:
                        await _dropped(smtp)
                        smtp = None
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    results.append(queue.Result(item.row, f"mail server unreachable: {_plain(str(exc))}"))
                    await _dropped(smtp)
                    smtp = None
        finally:
            await _dropped(smtp, polite=True)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.publish_timeout_seconds,
                               start_tls=s.smtp_starttls, use_tls=False)
        await smtp.connect()
        if s.smtp_username:
            await smtp.login(s.smtp_username, s.smtp_password.get_secret_value() if s.smtp_password else "")
        return smtp

    # -- the database side (in a helper thread) -------------------------------

    def _claim_and_prepare(self) -> tuple[list[Item], list[queue.Result]]:
        with transaction(self.sessions) as session:
            rows = queue.claim(session, owner=self.name, now=utcnow(), limit=BATCH,
                               lease_seconds=self.settings.lease_seconds)
        if not rows:
            return [], []
        with self.sessions() as session:
            people = {p.id: p for p in session.execute(
                select(Subscriber.id, Subscriber.link_nonce, Subscriber.email_encrypted, Subscriber.email_confirmed_at,
                       Subscriber.bounces).where(Subscriber.id.in_([r.subscriber_id for r in rows])))}
            for delivery_id in {r.delivery_id for r in rows} - set(self._letters):
                self._letters[delivery_id] = self._letter(session, delivery_id)
            subscribed = {(row.subscriber_id, row.topic_id) for row in session.execute(
                select(Subscription.subscriber_id, Subscription.topic_id)
                .where(Subscription.subscriber_id.in_([r.subscriber_id for r in rows])))}
        items, skipped = [], []
        for row in rows:
            letter, person = self._letters.get(row.delivery_id), people.get(row.subscriber_id)
            reason = _why_not(person, subscribed, row, self._topics.get(row.delivery_id, set()))
            if letter is None:
                reason = "the delivery is gone"
            if reason is None and person is not None and letter is not None:
                try:
                    to = self.box.open(person.email_encrypted)
                except AddressUnreadable as exc:
                    skipped.append(queue.Result(row, str(exc), permanent=True))
                    continue
                items.append(Item(row, to, letter.copy(Person(person.id, person.link_nonce, to)), letter.sender))
            else:
                skipped.append(queue.Result(row, reason, skipped=True))
        return items, skipped

    def _letter(self, session: Session, delivery_id: int) -> Letter | None:
        found = session.execute(select(Delivery, Channel).join(Channel, Channel.id == Delivery.channel_id)
                                .where(Delivery.id == delivery_id)).first()
        if found is None:
            return None
        delivery, channel = found
        self._topics[delivery_id] = set(queue.topic_ids(session, channel))
        base = self.settings.base_url.rstrip("/")
        return Letter(templates_dir=self.settings.templates_dir, rendition=dict(delivery.rendition),
                      sender=str(channel.settings.get("from") or self.settings.smtp_from), key=delivery.key,
                      public_url=f"{base}/announcements/{delivery.announcement_id}", base_url=base, box=self.box)

    def _record(self, results: list[queue.Result]) -> None:
        if not results:
            return
        s = self.settings
        with transaction(self.sessions) as session:
            queue.record(session, results, owner=self.name, now=utcnow(), max_attempts=s.max_attempts,
                         retry_base_seconds=s.retry_base_seconds, retry_max_seconds=s.retry_max_seconds)


def _why_not(person, subscribed: set[tuple[int, int]], row: queue.Claimed, topics: set[int]) -> str | None:
    """Why a row's recipient is no longer one (checked again at sending: they may have left since)."""
    if person is None:
        return "the subscriber is gone"
    if person.email_encrypted is None or person.email_confirmed_at is None:
        return "the address is no longer confirmed"
    if person.bounces >= queue.MAX_BOUNCES:
        return f"the address bounced {person.bounces} times in a row"
    if not any((row.subscriber_id, topic) in subscribed for topic in topics):
        return "unsubscribed from the channel's topics"
    return None


def _refused(item: Item, code: int, said: str) -> queue.Result:
    words = f"{code} {_plain(said.replace(item.to, 'the address'))}"
    return queue.Result(item.row, words, permanent=code >= 500)


def _plain(text: str) -> str:
    return _ADDRESS.sub("(an address)", " ".join(text.split()))[:300]


async def _dropped(smtp: aiosmtplib.SMTP | None, *, polite: bool = False) -> None:
    if smtp is None:
        return
    try:
        if polite and smtp.is_connected:
            await smtp.quit()
        else:
            smtp.close()
    except Exception:  # noqa: BLE001 - a connection that is going anyway
        smtp.close()

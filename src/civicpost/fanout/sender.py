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
from datetime import timedelta

import aiosmtplib
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civicpost.config import Settings
from civicpost.db import transaction, utcnow
from civicpost.fanout import holds, queue
from civicpost.fanout.message import Letter, Person, digest
from civicpost.models import Announcement, Channel, Delivery, State, Subscriber, Subscription
from civicpost.sms import plan, segments
from civicpost.subscribers.crypto import AddressUnreadable, SubscriberBox

log = logging.getLogger(__name__)

BATCH = 200
# Residents whose digests one claim gathers (each digest is composed whole).
DIGESTS = 50
RECORD_EVERY_SECONDS = 0.2
IDLE_POLL_SECONDS = 1.0
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


@dataclass(frozen=True)
class Item:
    row: queue.Claimed
    to: str
    message: bytes
    sender: str
    # A digest carries the resident's other rows of the day too: one message, one outcome for all.
    also: tuple[queue.Claimed, ...] = ()

    @property
    def rows(self) -> tuple[queue.Claimed, ...]:
        return (self.row, *self.also)


@dataclass(frozen=True)
class Text:
    row: queue.Claimed
    to: str
    parts: list[str]


class FanoutSender:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, name: str,
                 connections: int | None = None, reads: sessionmaker[Session] | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        # Whether anything is due is asked in a read: on SQLite an idle claim would take the write lock each time.
        self.reads = reads or sessions
        self.name = name
        self.connections = connections or settings.fanout_connections
        self.box = SubscriberBox(settings.fernet_key())
        self._letters: dict[int, Letter | None] = {}
        self._topics: dict[int, set[int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: httpx.AsyncClient | None = None
        self._next_text = 0.0
        self._texts: dict[int, list[str]] = {}
        # Rows claimed and not yet recorded: their leases are renewed until they are.
        self._held: set[int] = set()
        self._held_lock = threading.Lock()  # updated from the helper threads, read by the renewer

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
        renewer = asyncio.create_task(self._renewer())
        texting: set[asyncio.Task] = set()
        # Texts go at the provider's pace: claim only what can be sent well within a lease.
        text_room = max(1, int(self.settings.sms_per_second * self.settings.lease_seconds / 3))
        try:
            while not self._stopping.is_set():
                email_room = BATCH if waiting.qsize() < BATCH else 0
                sms_room = min(BATCH, text_room - len(texting)) if plan.ready(self.settings) else 0
                if email_room <= 0 and sms_room <= 0:
                    await asyncio.sleep(0.01)
                    continue
                try:
                    items, skipped = await asyncio.to_thread(self._claim_and_prepare, email_room, sms_room)
                except Exception:  # noqa: BLE001 - a database hiccup must not stop the fan-out
                    log.exception("fan-out %s: claiming failed; trying again shortly", self.name)
                    items, skipped = [], []
                    await asyncio.sleep(2)
                results.extend(skipped)
                for item in items:
                    if isinstance(item, Text):
                        task = asyncio.create_task(self._text(item, results))
                        texting.add(task)
                        task.add_done_callback(texting.discard)
                    else:
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
            await asyncio.gather(*senders, *texting, return_exceptions=True)
            if self._http is not None:
                await self._http.aclose()
            recorder.cancel()
            renewer.cancel()
            await asyncio.to_thread(self._record, results[:])
            with transaction(self.sessions) as session:
                queue.release(session, [row for item in unsent if item is not None for row in item.rows],
                              owner=self.name)

    async def _renewer(self) -> None:
        every = max(0.2, self.settings.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            with self._held_lock:
                held = sorted(self._held)
            if held:
                try:
                    await asyncio.to_thread(self._renew, held)
                except Exception:  # noqa: BLE001 - the next renewal tries again
                    log.exception("fan-out %s: renewing leases failed", self.name)

    def _renew(self, held: list[int]) -> None:
        until = utcnow() + timedelta(seconds=self.settings.lease_seconds)
        with transaction(self.sessions) as session:
            queue.renew(session, held, owner=self.name, until=until)

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
                    results.extend(queue.Result(row) for row in item.rows)
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients[0]
                    results.extend(_refused(item, refused.code, refused.message))
                except aiosmtplib.SMTPResponseException as exc:
                    results.extend(_refused(item, exc.code, exc.message))
                    if exc.code in (421,) or not 400 <= exc.code < 600:
                        await _dropped(smtp)
                        smtp = None
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    results.extend(queue.Result(row, f"mail server unreachable: {_plain(str(exc))}")
                                   for row in item.rows)
                    await _dropped(smtp)
                    smtp = None
        finally:
            await _dropped(smtp, polite=True)

    async def _text(self, item: Text, results: list[queue.Result]) -> None:
        """One text, part by part, each at the provider's pace (messages a second per number)."""
        s = self.settings
        if self._http is None:
            token = s.sms_auth_token.get_secret_value() if s.sms_auth_token else ""
            self._http = httpx.AsyncClient(auth=(s.sms_account_sid, token), timeout=s.publish_timeout_seconds)
        url = f"{s.sms_api_base.rstrip('/')}/2010-04-01/Accounts/{s.sms_account_sid}/Messages.json"
        sender = {"MessagingServiceSid" if s.sms_from.startswith("MG") else "From": s.sms_from}
        callback = s.base_url.rstrip("/") + "/hooks/sms/status"
        loop = asyncio.get_running_loop()
        sid = None
        for part in item.parts:
            slot = max(loop.time(), self._next_text)
            self._next_text = slot + 1 / s.sms_per_second
            await asyncio.sleep(slot - loop.time())
            try:
                answer = await self._http.post(url, data={"To": item.to, "Body": part, **sender,
                                                          "StatusCallback": callback})
            except httpx.HTTPError as exc:
                results.append(queue.Result(item.row, f"SMS provider unreachable: {_plain(str(exc))}"))
                return
            if answer.status_code >= 300:
                results.append(_provider_refused(item, answer))
                return
            sid = str(answer.json().get("sid") or "")[:64] or None
        results.append(queue.Result(item.row, remote_id=sid, segments=len(item.parts)))

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.publish_timeout_seconds,
                               start_tls=s.smtp_starttls, use_tls=False)
        await smtp.connect()
        if s.smtp_username:
            await smtp.login(s.smtp_username, s.smtp_password.get_secret_value() if s.smtp_password else "")
        return smtp

    # -- the database side (in a helper thread) -------------------------------

    def _claim_and_prepare(self, email_room: int, sms_room: int) -> tuple[list[Item | Text], list[queue.Result]]:
        now = utcnow()
        with self.reads() as session:
            if not queue.anything_due(session, now=now):
                return [], []
        with transaction(self.sessions) as session:
            rows = queue.claim(session, owner=self.name, now=now, limit=email_room,
                               lease_seconds=self.settings.lease_seconds) if email_room > 0 else []
            if sms_room > 0:
                texts = queue.claim(session, owner=self.name, now=now, limit=sms_room,
                                    lease_seconds=self.settings.lease_seconds, medium="sms")
                # The city's limits again, right before the texts go: an admin may have changed them.
                rows += holds.hold_texts(session, texts, settings=self.settings, owner=self.name, now=now)
            digests = queue.claim_digests(session, owner=self.name, now=now, residents=DIGESTS,
                                          lease_seconds=self.settings.lease_seconds) if email_room > 0 else []
            rows += digests
        if not rows:
            return [], []
        with self._held_lock:
            self._held.update(r.id for r in rows)
        with self.sessions() as session:
            people = {p.id: p for p in session.execute(
                select(Subscriber.id, Subscriber.link_nonce, Subscriber.email_encrypted, Subscriber.email_confirmed_at,
                       Subscriber.bounces, Subscriber.phone_encrypted, Subscriber.phone_confirmed_at,
                       Subscriber.sms_stopped_at).where(Subscriber.id.in_([r.subscriber_id for r in rows])))}
            for delivery_id in {r.delivery_id for r in rows} - set(self._letters):
                self._letters[delivery_id] = self._letter(session, delivery_id)
            # A retracted or cancelled announcement stops reaching residents, whatever rows are left.
            stopped = set(session.scalars(
                select(Delivery.id).join(Announcement, Announcement.id == Delivery.announcement_id)
                .where(Delivery.id.in_({r.delivery_id for r in rows}),
                       Announcement.state.in_((State.retracted, State.cancelled)))))
            subscribed = {(row.subscriber_id, row.topic_id) for row in session.execute(
                select(Subscription.subscriber_id, Subscription.topic_id)
                .where(Subscription.subscriber_id.in_([r.subscriber_id for r in rows])))}
        items: list[Item | Text] = []
        skipped: list[queue.Result] = []
        digest_ids = {r.id for r in digests}
        gathered: dict[int, list[queue.Claimed]] = {}
        for row in rows:
            if row.delivery_id in stopped:
                skipped.append(queue.Result(row, "the announcement was retracted or cancelled", skipped=True))
                continue
            if row.id in digest_ids:
                gathered.setdefault(row.subscriber_id, []).append(row)
                continue
            letter, person = self._letters.get(row.delivery_id), people.get(row.subscriber_id)
            reason = _why_not(person, subscribed, row, self._topics.get(row.delivery_id, set()))
            if letter is None:
                reason = "the delivery is gone"
            if reason is not None or person is None or letter is None:
                skipped.append(queue.Result(row, reason or "the subscriber is gone", skipped=True))
                continue
            try:
                if row.medium == "sms":
                    items.append(Text(row, self.box.open(person.phone_encrypted), self._texts[row.delivery_id]))
                else:
                    to = self.box.open(person.email_encrypted)
                    items.append(Item(row, to, letter.copy(Person(person.id, person.link_nonce, to)), letter.sender))
            except AddressUnreadable as exc:
                skipped.append(queue.Result(row, str(exc), permanent=True))
        for subscriber_id, day in gathered.items():
            self._gather(day, people.get(subscriber_id), subscribed, items, skipped)
        return items, skipped

    def _gather(self, day: list[queue.Claimed], person, subscribed: set[tuple[int, int]],
                items: list[Item | Text], skipped: list[queue.Result]) -> None:
        """One resident's digest: the day's rows still theirs to receive, in one message."""
        keep = []
        for row in day:
            letter = self._letters.get(row.delivery_id)
            reason = _why_not(person, subscribed, row, self._topics.get(row.delivery_id, set()))
            if reason is None and letter is not None:
                keep.append((row, letter))
            else:
                skipped.append(queue.Result(row, reason or "the delivery is gone", skipped=True))
        if not keep or person is None:
            return
        try:
            to = self.box.open(person.email_encrypted)
        except AddressUnreadable as exc:
            skipped.extend(queue.Result(row, str(exc), permanent=True) for row, _ in keep)
            return
        first = keep[0][1]
        message = digest(templates_dir=self.settings.templates_dir, entries=[letter.entry for _, letter in keep],
                         person=Person(person.id, person.link_nonce, to), sender=first.sender,
                         key=f"digest.{keep[0][0].id}", base_url=self.settings.base_url.rstrip("/"), box=self.box,
                         city=self.settings.city_name)
        items.append(Item(keep[0][0], to, message, first.sender, tuple(row for row, _ in keep[1:])))

    def _letter(self, session: Session, delivery_id: int) -> Letter | None:
        found = session.execute(select(Delivery, Channel).join(Channel, Channel.id == Delivery.channel_id)
                                .where(Delivery.id == delivery_id)).first()
        if found is None:
            return None
        delivery, channel = found
        self._topics[delivery_id] = set(queue.topic_ids(session, channel))
        public = queue.public_url(self.settings, delivery.announcement_id)
        self._texts[delivery_id] = segments.parts(plan.text_of(delivery.rendition, public))
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
        with self._held_lock:
            self._held.difference_update(r.row.id for r in results)


def _why_not(person, subscribed: set[tuple[int, int]], row: queue.Claimed, topics: set[int]) -> str | None:
    """Why a row's recipient is no longer one (checked again at sending: they may have left since)."""
    if person is None:
        return "the subscriber is gone"
    if row.medium == "sms":
        if person.phone_encrypted is None or person.phone_confirmed_at is None:
            return "the number is no longer confirmed"
        if person.sms_stopped_at is not None:
            return "the resident texted STOP"
    else:
        if person.email_encrypted is None or person.email_confirmed_at is None:
            return "the address is no longer confirmed"
        if person.bounces >= queue.MAX_BOUNCES:
            return f"the address bounced {person.bounces} times in a row"
    if not any((row.subscriber_id, topic) in subscribed for topic in topics):
        return "unsubscribed from the channel's topics"
    return None


def _provider_refused(item: Text, answer: httpx.Response) -> queue.Result:
    """The provider's refusal: a 429 or 5xx is tried again; any other answer is final for this text."""
    try:
        said = answer.json()
        words = f"{said.get('code', '')} {said.get('message', '')}".strip()
    except ValueError:
        words = ""
    words = f"SMS provider answered {answer.status_code}: {_plain(words.replace(item.to, 'the number'))}"
    if answer.status_code in (401, 403):
        words += " (check CIVICPOST_SMS_ACCOUNT_SID and CIVICPOST_SMS_AUTH_TOKEN)"
    return queue.Result(item.row, words, permanent=answer.status_code != 429 and answer.status_code < 500
                        and answer.status_code not in (401, 403))


def _refused(item: Item, code: int, said: str) -> list[queue.Result]:
    words = f"{code} {_plain(said.replace(item.to, 'the address'))}"
    return [queue.Result(row, words, permanent=code >= 500) for row in item.rows]


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

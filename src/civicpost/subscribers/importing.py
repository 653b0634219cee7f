"""`POST /api/v1/subscribers/import`: residents who consented elsewhere (a paper form, an old list).

The CSV's header is `email,phone,topics,consent_source,confirmed_at`; topics are slugs separated
by spaces; a row is confirmed only where `confirmed_at` is given (an ISO 8601 moment with its
offset). All or nothing: one bad row and nothing is stored, every bad row named by its line.
"""

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.db import utcnow
from civicpost.errors import Invalid
from civicpost.models import Subscriber, Subscription, Topic, User
from civicpost.subscribers import consent
from civicpost.subscribers.addresses import normalise_email, normalise_phone
from civicpost.subscribers.crypto import SubscriberBox

HEADER = ["email", "phone", "topics", "consent_source", "confirmed_at"]
MAX_ROWS = 50_000
MAX_ERRORS = 100


@dataclass
class Row:
    line: int
    email: str | None
    phone: str | None
    topics: list[Topic]
    source: str
    confirmed_at: datetime | None


@dataclass
class Outcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    confirmed: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment


def parse(session: Session, box: SubscriberBox, text: str, *, phone_prefix: str = "") -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        raise Invalid(f"the first line must be the header {','.join(HEADER)}",
                      errors=[{"line": 1, "field": "header", "message": f"expected {','.join(HEADER)}"}])
    topics = {t.slug: t for t in session.scalars(select(Topic))}
    rows: list[Row] = []
    errors: list[dict[str, object]] = []
    seen: dict[str, int] = {}

    def bad(line: int, name: str, message: str) -> None:
        errors.append({"line": line, "field": name, "message": message})

    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise Invalid(f"at most {MAX_ROWS} rows at once; split the file")
        if len(values) != len(HEADER):
            bad(line, "row", f"has {len(values)} fields; each row has {len(HEADER)}: {','.join(HEADER)}")
            continue
        email_text, phone_text, topic_text, source, confirmed_text = (v.strip() for v in values)
        email = phone = None
        confirmed_at = None
        if not email_text and not phone_text:
            bad(line, "email", "give an email address or a phone number")
        if email_text:
            try:
                email = normalise_email(email_text)
            except ValueError as exc:
                bad(line, "email", str(exc))
        if phone_text:
            try:
                phone = normalise_phone(phone_text, prefix=phone_prefix)
            except ValueError as exc:
                bad(line, "phone", str(exc))
        for value, name in ((email, "email"), (phone, "phone")):
            if value and (earlier := seen.get(value)):
                bad(line, name, f"the same {name} as line {earlier}")
            elif value:
                seen[value] = line
        slugs = topic_text.split()
        unknown = [s for s in slugs if s not in topics]
        if not slugs:
            bad(line, "topics", "name at least one topic (slugs separated by spaces)")
        elif unknown:
            bad(line, "topics", f"unknown topic {', '.join(repr(u[:64]) for u in unknown[:5])}")
        if not source or len(source) > 180 or not source.isprintable():
            bad(line, "consent_source", "say where the consent was given (one line, up to 180 characters)")
        if confirmed_text:
            try:
                confirmed_at = _moment(confirmed_text)
            except ValueError:
                bad(line, "confirmed_at", "an ISO 8601 moment with its offset, like 2026-03-01T09:00:00-05:00, "
                                          "or empty when the address was not confirmed")
        if len(errors) >= MAX_ERRORS:
            break
        rows.append(Row(line, email, phone, [topics[s] for s in dict.fromkeys(slugs) if s in topics], source,
                        confirmed_at))
    if errors:
        raise Invalid(f"{len(errors)} problem(s) in the file; nothing was imported" +
                      (f" (the first {MAX_ERRORS} shown)" if len(errors) >= MAX_ERRORS else ""),
                      errors=errors[:MAX_ERRORS])
    if not rows:
        raise Invalid("the file has a header but no rows")
    return rows


def store(session: Session, box: SubscriberBox, rows: list[Row], *, actor: User) -> Outcome:
    outcome = Outcome(rows=len(rows))
    for row in rows:
        digest_e = box.digest(row.email) if row.email else None
        digest_p = box.digest(row.phone) if row.phone else None
        by_email = session.scalar(select(Subscriber).where(Subscriber.email_digest == digest_e)) if digest_e else None
        by_phone = session.scalar(select(Subscriber).where(Subscriber.phone_digest == digest_p)) if digest_p else None
        if by_email and by_phone and by_email.id != by_phone.id:
            raise Invalid(f"line {row.line}: the email and the phone belong to two different subscribers; "
                          "import them on separate rows", errors=[{"line": row.line, "field": "phone",
                                                                    "message": "belongs to another subscriber"}])
        subscriber = by_email or by_phone
        if subscriber is None:
            subscriber = Subscriber(link_nonce=secrets.token_urlsafe(24))
            session.add(subscriber)
            outcome.created += 1
        else:
            outcome.updated += 1
        if row.email and subscriber.email_digest is None:
            subscriber.email_encrypted, subscriber.email_digest = box.seal(row.email), digest_e
        if row.phone and subscriber.phone_digest is None:
            subscriber.phone_encrypted, subscriber.phone_digest = box.seal(row.phone), digest_p
        if row.confirmed_at is not None:
            if row.email and subscriber.email_confirmed_at is None:
                subscriber.email_confirmed_at = row.confirmed_at
            if row.phone and subscriber.phone_confirmed_at is None:
                subscriber.phone_confirmed_at = row.confirmed_at
            outcome.confirmed += 1
        session.flush()
        have = set(session.scalars(select(Subscription.topic_id)
                                   .where(Subscription.subscriber_id == subscriber.id)))
        session.add_all(Subscription(subscriber_id=subscriber.id, topic_id=t.id) for t in row.topics
                        if t.id not in have)
        record = consent.record(session, subscriber, action="import", source=f"import: {row.source}", ip=None,
                                topics=[t.slug for t in row.topics])
        record.at = row.confirmed_at or utcnow()
    audit.record(session, actor=actor, action="subscribers.import", object_type="user", object_id=actor.id,
                 detail={"rows": outcome.rows, "created": outcome.created, "updated": outcome.updated,
                         "confirmed": outcome.confirmed})
    return outcome

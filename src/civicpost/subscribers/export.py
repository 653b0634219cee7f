"""Subscribers in a records export, only when an admin asks (`civicpost export --with-subscribers`).

Two CSV files: `subscribers.csv` (the addresses and numbers, decrypted, with their topics) and
`subscriber_consents.csv` (every act of consent, forgotten subscribers' by digest only).
"""

import csv
import io
from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.models import SubscriberConsent
from civicpost.subscribers import roster
from civicpost.subscribers.crypto import SubscriberBox

SUBSCRIBERS_HEADER = ["id", "email", "phone", "email_confirmed_at", "phone_confirmed_at", "sms_stopped", "bounces",
                      "topics", "created_at"]
CONSENTS_HEADER = ["id", "subscriber_id", "email_digest", "phone_digest", "action", "source", "ip", "topics", "at"]
PAGE = 1000


def _csv(rows: Iterator[Sequence[object]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if hasattr(v, "isoformat") else v for v in row])
    return out.getvalue()


def subscribers_csv(session: Session, box: SubscriberBox) -> str:
    def rows() -> Iterator[Sequence[object]]:
        yield SUBSCRIBERS_HEADER
        after = 0
        while page := roster.page(session, box, topic=None, after=after, limit=PAGE):
            for e in page:
                yield [e.id, e.email, e.phone, e.email_confirmed_at, e.phone_confirmed_at, e.sms_stopped, e.bounces,
                       " ".join(e.topics), e.created_at]
            after = page[-1].id
    return _csv(rows())


def consents_csv(session: Session) -> str:
    def rows() -> Iterator[Sequence[object]]:
        yield CONSENTS_HEADER
        for c in session.scalars(select(SubscriberConsent).order_by(SubscriberConsent.id)
                                 .execution_options(yield_per=PAGE)):
            yield [c.id, c.subscriber_id, c.email_digest, c.phone_digest, c.action, c.source, c.ip, c.topics, c.at]
    return _csv(rows())

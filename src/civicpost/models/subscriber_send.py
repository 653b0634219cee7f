"""One message of a `subscribers` channel's delivery to one resident by one medium (SPEC §8.7).

A fan-out delivery makes one row per recipient in one INSERT ... SELECT; the rows are a queue of
their own, claimed in batches under leases like deliveries. A row claimed again after its lease
ran out (its worker died mid-send) is marked `reclaimed`: its message may go twice, and the
announcement page counts such rows. `last_error` holds the server's words, never an address.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow


class SendState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # Nothing to send to any more (unsubscribed, stopped, bounced three times) when its turn came.
    skipped = "skipped"


OPEN_SEND = (SendState.pending, SendState.sending)
FINAL_SEND = (SendState.sent, SendState.failed, SendState.skipped)


class SubscriberSend(Base):
    __tablename__ = "subscriber_sends"
    __table_args__ = (
        UniqueConstraint("delivery_id", "subscriber_id", "medium"),
        # The claim: the emergency lane first, then the earliest due open rows (a row being sent is due
        # again when its lease runs out: the claim sets next_attempt_at to the lease's end).
        Index("ix_subscriber_sends_open_due", "lane", "next_attempt_at", "id",
              postgresql_where=text("state IN ('pending', 'sending')"),
              sqlite_where=text("state IN ('pending', 'sending')")),
        Index("ix_subscriber_sends_delivery_id_state", "delivery_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), index=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    medium: Mapped[str] = mapped_column(String(8))  # email | sms
    state: Mapped[str] = mapped_column(String(16), default=SendState.pending)
    # 0: an emergency, claimed before anything else; 1: the rest.
    lane: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Waits for the resident's daily digest (they chose one, or the channel sends digests): not an emergency.
    # The delivery does not wait for it.
    digest: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # Claimed again after a lease ran out: the message may have gone twice.
    reclaimed: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A text: the provider's id of its last part (its delivery-status callbacks name it) and the SMS it took.
    remote_id: Mapped[str | None] = mapped_column(String(64), index=True)
    segments: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""When and whether residents' texts go: the city's SMS account, quiet hours, the monthly cap, and
the estimate (texts, SMS segments, cost, time at the provider's pace) shown before approval."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicpost.config import Settings
from civicpost.models import Subscriber, SubscriberSend, Subscription
from civicpost.sms import limits, segments


def ready(settings: Settings) -> bool:
    """The city has an SMS account to send from."""
    return bool(settings.sms_account_sid and settings.sms_auth_token and settings.sms_from)


def text_of(rendition: dict, public_url: str) -> str:
    """A text as sent: the rendition's SMS wording and a link to the announcement's accessible page."""
    return f"{(rendition.get('extra') or {}).get('sms', '').strip()} {public_url}".strip()


def quiet_until(settings: Settings, now: datetime, *, hours: str) -> datetime | None:
    """The end of the quiet `hours` ("21:00-08:00", city time) that `now` falls in, or None outside them."""
    if not hours:
        return None
    start_s, end_s = hours.split("-")
    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    local = now.astimezone(settings.zone)
    at = local.time()
    inside = (start <= at < end) if start <= end else (at >= start or at < end)
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=settings.zone)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(now.tzinfo)


def month_start(settings: Settings, now: datetime) -> datetime:
    local = now.astimezone(settings.zone)
    return datetime(local.year, local.month, 1, tzinfo=settings.zone).astimezone(now.tzinfo)


def sent_this_month(session: Session, settings: Settings, now: datetime) -> int:
    """SMS segments sent since the month began, or being sent now: what the cap counts right before a text."""
    start = month_start(settings, now)
    return session.scalar(select(func.coalesce(func.sum(SubscriberSend.segments), 0)).where(
        SubscriberSend.medium == "sms",
        ((SubscriberSend.state == "sent") & (SubscriberSend.sent_at >= start))
        | (SubscriberSend.state == "sending"))) or 0


def used_this_month(session: Session, settings: Settings, now: datetime) -> int:
    """SMS segments sent, or waiting to be sent, since the month began in the city's time zone."""
    return session.scalar(select(func.coalesce(func.sum(SubscriberSend.segments), 0)).where(
        SubscriberSend.medium == "sms", SubscriberSend.created_at >= month_start(settings, now),
        SubscriberSend.state.in_(("pending", "sending", "sent")))) or 0


def texting(session: Session, topic_ids: list[int]) -> int:
    """Residents of these topics with a confirmed number that has not said STOP."""
    wanted = select(Subscription.subscriber_id).where(Subscription.topic_id.in_(topic_ids))
    return session.scalar(select(func.count()).select_from(Subscriber).where(
        Subscriber.id.in_(wanted), Subscriber.phone_encrypted.is_not(None),
        Subscriber.phone_confirmed_at.is_not(None), Subscriber.sms_stopped_at.is_(None))) or 0


@dataclass(frozen=True)
class Estimate:
    texts: int
    segments: int  # SMS per text
    cost: float
    seconds: float  # at the provider's pace
    month_used: int
    cap: int  # 0: none

    @property
    def over_cap(self) -> bool:
        return bool(self.cap) and self.month_used + self.texts * self.segments > self.cap


def estimate(session: Session, settings: Settings, *, topic_ids: list[int], text: str, now: datetime) -> Estimate:
    texts, per_text = texting(session, topic_ids), len(segments.parts(text))
    return Estimate(texts=texts, segments=per_text, cost=texts * per_text * settings.sms_price_per_segment,
                    seconds=texts * per_text / settings.sms_per_second,
                    month_used=used_this_month(session, settings, now),
                    cap=limits.effective(session, settings).monthly_cap)

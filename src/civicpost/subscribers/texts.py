"""The text asking a resident to confirm their number (SMS double opt-in), sent after the commit.

It goes when the sign-up is confirmed by the email link and a number was given: the link proves
who asked, so no stranger can make the city text a number at will. It never goes twice within
RESEND_AFTER to one number (`sms_confirmation_sent_at`), never to a number already confirmed or
that texted STOP, and it counts against the number in the sign-up throttle. The answer YES (or
START) reaches `/hooks/sms`, which confirms the number.
Words from templates/subscribers/confirm_sms.txt.j2; the number is never logged.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import throttle
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.models import Subscriber, Subscription, Topic
from civicpost.sms import plan
from civicpost.subscribers.crypto import SubscriberBox

log = logging.getLogger(__name__)

RESEND_AFTER = timedelta(minutes=10)
# Topic names beyond this many characters would push the text past one or two SMS.
MAX_TOPICS_SHOWN = 60


@dataclass(frozen=True)
class TextConfirmation:
    subscriber_id: int
    to: str
    topics: list[str]


def due(session: Session, box: SubscriberBox, subscriber: Subscriber, *, settings: Settings,
        now: datetime | None = None) -> TextConfirmation | None:
    """The confirmation text to send after the commit, if one is due; marks it sent."""
    now = now or utcnow()
    if not plan.ready(settings) or subscriber.phone_encrypted is None:
        return None
    if subscriber.phone_confirmed_at is not None or subscriber.sms_stopped_at is not None:
        return None
    sent = subscriber.sms_confirmation_sent_at
    if sent is not None and now - sent < RESEND_AFTER:
        return None
    # Each text counts against the number as a sign-up does (its keyed digest): a few an hour, then waits.
    keys = throttle.sign_up_keys(digests=[subscriber.phone_digest or ""], address=None)
    number = replace(keys, checked=keys.checked[:1], counted=keys.counted[:1])
    if throttle.wait_for(session, number, now=now):
        return None
    throttle.record_failure(session, number, now=now)
    subscriber.sms_confirmation_sent_at = now
    names = list(session.scalars(select(Topic.name).join(Subscription, Subscription.topic_id == Topic.id)
                                 .where(Subscription.subscriber_id == subscriber.id).order_by(Topic.name)))
    if len(", ".join(names)) > MAX_TOPICS_SHOWN:
        # A text that names many topics would take several SMS: the manage page lists them.
        names = [f"the {len(names)} topics you chose"]
    return TextConfirmation(subscriber.id, box.open(subscriber.phone_encrypted), names)


def words(settings: Settings, confirmation: TextConfirmation) -> str:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(settings.templates_dir / "subscribers"), autoescape=False,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    text = env.get_template("confirm_sms.txt.j2").render(city_name=settings.city_name, topics=confirmation.topics)
    return " ".join(text.split())


def send(settings: Settings, confirmation: TextConfirmation) -> bool:
    """Answers whether the provider took it; a failure is logged with the subscriber's id only."""
    s = settings
    token = s.sms_auth_token.get_secret_value() if s.sms_auth_token else ""
    url = f"{s.sms_api_base.rstrip('/')}/2010-04-01/Accounts/{s.sms_account_sid}/Messages.json"
    sender = {"MessagingServiceSid" if s.sms_from.startswith("MG") else "From": s.sms_from}
    try:
        answer = httpx.post(url, data={"To": confirmation.to, "Body": words(settings, confirmation), **sender},
                            auth=(s.sms_account_sid, token), timeout=s.publish_timeout_seconds)
    except httpx.HTTPError as exc:
        log.warning("the confirmation text of subscriber %s was not sent (%s)", confirmation.subscriber_id,
                    type(exc).__name__)
        return False
    if answer.status_code >= 300:
        log.warning("the confirmation text of subscriber %s was refused (HTTP %s)", confirmation.subscriber_id,
                    answer.status_code)
        return False
    return True

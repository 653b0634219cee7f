"""What texting an announcement's residents will take, shown to the approver before approval:
texts, SMS segments, cost, time at the provider's pace, and the city's monthly cap."""

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.fanout import queue
from civicpost.models import Announcement, Channel
from civicpost.platforms import SPECS
from civicpost.sms import plan


@dataclass(frozen=True)
class TextPlan:
    channel: str
    estimate: plan.Estimate
    emergency: bool

    @property
    def sms(self) -> int:
        return self.estimate.texts * self.estimate.segments

    @property
    def duration(self) -> str:
        # Rounded up: an approver planning around it should not be surprised.
        seconds = math.ceil(self.estimate.seconds)
        if seconds < 120:
            return f"{seconds} seconds"
        if seconds < 2 * 3600:
            return f"{math.ceil(seconds / 60)} minutes"
        return f"{math.ceil(seconds / 360) / 10:.1f} hours"


def before_approval(session: Session, settings: Settings, announcement: Announcement,
                    cards: list[Any]) -> list[TextPlan]:
    """One plan per `subscribers` channel of the announcement that texts (none without an SMS account)."""
    if not plan.ready(settings):
        return []
    found = []
    for card in cards:
        if card.platform not in SPECS or not SPECS[card.platform].capabilities.fanout:
            continue
        channel = session.get(Channel, card.channel_id)
        if channel is None or not channel.settings.get("sms"):
            continue
        text = plan.text_of(card.r, queue.public_url(settings, announcement.id))
        estimate = plan.estimate(session, settings, topic_ids=queue.topic_ids(session, channel), text=text,
                                 now=utcnow())
        found.append(TextPlan(channel.name, estimate, announcement.emergency))
    return found

"""Link tracking (SPEC §8.3): a channel that tracks links sends the
announcement's link as this service's `/r/{code}`, which counts the click and
sends the reader on. No cookie is set and nothing about the reader is kept:
one number per announcement and channel.

A code is derived (HMAC of the announcement's and the channel's ids under the
service's secret), so a preview shows the very address that approval signs and
the worker sends, before any row exists; approval writes the row the
redirect reads.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicpost.models import Announcement, TrackedLink

CODE = re.compile(r"[a-z2-7]{12}")
# Platforms fetch a link to draw its card, and chat apps to preview it: not a resident's click.
_PREVIEWERS = re.compile(
    r"bot\b|bot/|crawler|spider|facebookexternalhit|meta-externalagent|Mastodon/|Bluesky|Cardyb|"
    r"Slack-?ImgProxy|Slackbot|TelegramBot|WhatsApp|Discordbot|LinkedInBot|Twitterbot|embedly|preview",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Tracking:
    base_url: str
    key: bytes

    @classmethod
    def of(cls, *, base_url: str, secret: str) -> "Tracking":
        # Its own key, derived: the secret itself never signs two kinds of thing.
        return cls(base_url.rstrip("/"), hashlib.sha256(b"civicpost tracked links\x00" + secret.encode()).digest())

    def code(self, announcement_id: int, channel_id: int) -> str:
        digest = hmac.new(self.key, f"{announcement_id}:{channel_id}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().lower()[:12]

    def address(self, announcement_id: int, channel_id: int) -> str:
        return f"{self.base_url}/r/{self.code(announcement_id, channel_id)}"


def remember(session: Session, tracking: Tracking, announcement: Announcement) -> int:
    """At approval: a row for each tracking channel, pointing at the link as approved."""
    if not announcement.link:
        return 0
    count = 0
    for target in announcement.targets:
        if not target.channel.track_links:
            continue
        code = tracking.code(announcement.id, target.channel_id)
        row = session.get(TrackedLink, code)
        if row is None:
            session.add(TrackedLink(code=code, announcement_id=announcement.id, channel_id=target.channel_id,
                                    url=announcement.link, clicks=0))
        else:
            row.url = announcement.link  # edited and approved again: the new link, the same count
        count += 1
    session.flush()
    return count


def follow(session: Session, code: str, *, user_agent: str) -> str | None:
    """Where `code` leads (None: no such link), counting the click unless a previewer made it."""
    if not CODE.fullmatch(code):
        return None
    row = session.get(TrackedLink, code)
    if row is None:
        return None
    if not _PREVIEWERS.search(user_agent or ""):
        session.execute(update(TrackedLink).where(TrackedLink.code == code)
                        .values(clicks=TrackedLink.clicks + 1).execution_options(synchronize_session=False))
    return row.url


def clicks(session: Session, announcement_id: int) -> dict[int, int]:
    """Clicks per channel of one announcement."""
    found = session.execute(select(TrackedLink.channel_id, TrackedLink.clicks)
                            .where(TrackedLink.announcement_id == announcement_id))
    return {channel_id: count for channel_id, count in found}

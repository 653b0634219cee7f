"""Residents' replies to the sandbox's posts: a few per post, the same on every run.

How many a post gets depends on its platform and a hash of its id (from none to
four), so a test can predict them and the demo shows a plausible mix. Each fake
keeps what the city hid or deleted (`Moderation`) and leaves those out of, or
marks them in, its answers as the real platform does.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Most replies a post gets on each platform.
MOST = {"mastodon": 3, "bluesky": 3, "x": 4, "facebook": 4}
PEOPLE = (
    ("dana", "Dana Whitfield"),
    ("marco_r", "Marco Rossi"),
    ("lin.chen", "Lin Chen"),
    ("ayo", "Ayodele Okafor"),
    ("sam", "Sam Brooks"),
)
WORDS = (
    "Thanks for the update!",
    "Will this affect the Saturday market?",
    "Is there a number to call about this?",
    "Great news for the neighbourhood.",
    "Please post this on the city's site too.",
    "What time does it start?",
)


@dataclass(frozen=True)
class FakeReply:
    n: int  # 1, 2, ... under its post
    handle: str
    name: str
    text: str
    created_at: datetime


def count(platform: str, post_id: str) -> int:
    digest = hashlib.sha256(f"replies:{platform}:{post_id}".encode()).digest()
    return digest[0] % (MOST.get(platform, 2) + 1)


def replies_for(platform: str, post_id: str, posted_at: datetime) -> list[FakeReply]:
    found = []
    for n in range(1, count(platform, post_id) + 1):
        digest = hashlib.sha256(f"reply:{platform}:{post_id}:{n}".encode()).digest()
        handle, name = PEOPLE[digest[0] % len(PEOPLE)]
        found.append(FakeReply(n, handle, name, WORDS[digest[1] % len(WORDS)], posted_at + timedelta(minutes=7 * n)))
    return found


@dataclass
class Moderation:
    """What the city did to replies on one fake, by reply id."""

    hidden: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)

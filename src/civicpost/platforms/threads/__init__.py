"""Threads through Meta's Threads API (adapter.py), by containers: a TEXT or
IMAGE (or CAROUSEL) container, then threads_publish. A post too long for one
goes out as a thread when the channel says so, each part a reply
(`reply_to_id`) to the one before. docs/platforms/threads.md says how a city
gets a token.
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import regex

from civicpost.content import Problem
from civicpost.media import MediaLimits
from civicpost.platforms._meta_fields import AccountId, Username
from civicpost.platforms.spec import (
    Capabilities,
    Fields,
    HttpUrl,
    LengthRule,
    Look,
    Overflow,
    PlatformSpec,
    SandboxChannel,
    Secret,
    api_base,
    field,
    overflow,
    web_base,
)
from civicpost.text.lengths import Measure, links_in

LIMIT = 500
LINKS = 5  # more fail at the container step (THREADS_API__LINK_LIMIT_EXCEEDED)
IMAGES = 20  # a carousel holds at most twenty
IMAGE_BYTES = 8 * 1024 * 1024
DAILY_POSTS = 250  # published through the API in a rolling 24 hours (GET /{user}/threads_publishing_limit)
WEB = "https://www.threads.com"
SANDBOX_USER = "25000000000000001"

_GRAPHEME = regex.compile(r"\X")
_SCHEMED = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")


class ThreadsCredentials(Fields):
    access_token: Secret = field(
        "Access token", hint="A long-lived token with threads_content_publish (see docs/platforms/threads.md).")


class ThreadsSettings(Fields):
    threads_user_id: AccountId = field("Threads user ID", hint="The account's number, not its @name.")
    username: Username | None = field(
        "Account name", default=None,
        hint="Leave empty: Test connection fills it in. The public directory links to the account with it.")
    overflow: Overflow | None = overflow()
    api_base: HttpUrl | None = api_base("https://graph.threads.net")
    web_base: HttpUrl | None = web_base(WEB)


def threads_length(text: str) -> int:
    """Threads' count: "Emojis are counted as the number of UTF-8 bytes"; every
    other character once (code points, never fewer than what a reader sees)."""
    return sum(len(g.encode()) if _EMOJI.search(g) else len(g) for g in _GRAPHEME.findall(text))


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(threads_length(text), LIMIT)


def links(text: str) -> int:
    """Distinct links, bare domains too ("www.city.gov"), as Threads counts them.

    An address with its scheme counts whatever its ending; twitter-text finds
    the bare ones (it knows only real top-level domains).
    """
    found = {m.group(0).rstrip(".,;:!?)'\"").lower() for m in _SCHEMED.finditer(text)}
    return len(found | {u["url"].lower() for u in links_in(_SCHEMED.sub(" ", text))})


def _at_most_five_links(text: str) -> Problem | None:
    found = links(text)
    if found <= LINKS:
        return None
    return Problem("too_many_links", "error", f"This post has {found} links; Threads allows at most {LINKS}.",
                   f"Remove {found - LINKS} of them, or write a version for this channel.")


_PROFILE_IN_POST = re.compile(r"^(https?://[^?#]*?/@[A-Za-z0-9._]{1,30})/post/[^/?#]+/?$")


def profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    name = str(settings.get("username") or "").lstrip("@")
    if name:
        return f"{(settings.get('web_base') or WEB).rstrip('/')}/@{quote(name, safe='._')}"
    match = _PROFILE_IN_POST.match(remote_url or "")
    return match.group(1) if match else None

def _look(settings: Mapping[str, Any]) -> Look:
    name = str(settings.get("username") or "").lstrip("@")
    return Look(handle=f"@{name}" if name else None, link_card=True)


SPEC = PlatformSpec(
    name="threads",
    label="Threads",
    form_label="Threads",
    adapter="civicpost.platforms.threads.adapter:ThreadsAdapter",
    credentials=ThreadsCredentials,
    settings=ThreadsSettings,
    length=LengthRule(_measure, note=" (Threads counts each emoji as its size in bytes, usually 4)",
                      checks=(_at_most_five_links,)),
    media=MediaLimits(IMAGES, IMAGE_BYTES, None, mime_types=frozenset({"image/jpeg", "image/png"})),
    capabilities=Capabilities(thread=True, delete=True, find=True, metrics=True, alt_text=True),
    metrics_batch=25,
    outbound_urls=("api_base",),
    profile=profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"access_token": "sandbox-threads-token"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/threads", "web_base": f"{sandbox}/threads",
                                  "threads_user_id": SANDBOX_USER, "username": "cityofsandbox"},
    ),
    daily_limit=DAILY_POSTS,
)

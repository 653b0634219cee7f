"""Instagram professional accounts through Meta's Graph API (adapter.py).

A post is a container, made from the image's signed address on the city's
own site (Meta fetches it from CIVICPOST_BASE_URL) and then published; several
images make a carousel. Every post needs an image, and the API cannot delete
a published post. docs/platforms/instagram.md says how a city gets a token.
"""

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from civicpost.content import Problem
from civicpost.media import MediaLimits
from civicpost.platforms._meta_fields import AccountId, GraphVersion, Username
from civicpost.platforms.spec import (
    Capabilities,
    Fields,
    HttpUrl,
    LengthRule,
    Look,
    PlatformSpec,
    SandboxChannel,
    Secret,
    api_base,
    field,
    web_base,
)
from civicpost.text.lengths import Measure, utf16_units

LIMIT = 2_200
HASHTAGS = 30
MENTIONS = 20
IMAGES = 10  # a carousel holds at most ten
IMAGE_BYTES = 8 * 1024 * 1024  # Meta: "less than 8 MiB"
ALT_TEXT = 1_000
DAILY_POSTS = 50  # published through the API in a rolling 24 hours (GET /{ig-user-id}/content_publishing_limit)
WEB = "https://www.instagram.com"
SANDBOX_ACCOUNT = "17841400000000001"

# A hashtag or mention starts after a space or punctuation, not inside a word
# or an address ("page#top", "parks@city.example" are neither).
_HASHTAG = re.compile(r"(?<![\w&#/])#\w+")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9._]+")

class InstagramCredentials(Fields):
    access_token: Secret = field(
        "Access token", hint="A long-lived token with instagram_content_publish (see docs/platforms/instagram.md).")


class InstagramSettings(Fields):
    ig_user_id: AccountId = field("Instagram account ID", hint="The professional account's number, not its @name.")
    username: Username | None = field(
        "Account name", default=None,
        hint="Leave empty: Test connection fills it in. The public directory links to the account with it.")
    graph_version: GraphVersion | None = field(
        "Graph API version", default=None, hint="For example v25.0; leave empty for the current one.")
    api_base: HttpUrl | None = api_base(
        "https://graph.facebook.com (use https://graph.instagram.com for a token from Instagram Login)")
    web_base: HttpUrl | None = web_base(WEB)


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    # Meta does not say which unit it counts; UTF-16 units are never fewer than characters.
    return Measure(utf16_units(text), LIMIT)


def _at_most(pattern: re.Pattern[str], limit: int, what: str, code: str) -> Any:
    def check(text: str) -> Problem | None:
        found = len(pattern.findall(text))
        if found <= limit:
            return None
        return Problem(code, "error", f"This caption has {found} {what}; Instagram allows at most {limit}.",
                       f"Remove {found - limit} of them, or write a version for this channel.")

    return check


def profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    """The account's page from its name; a post's address (/p/CODE/) does not name the account."""
    name = str(settings.get("username") or "").lstrip("@")
    if not name:
        return None
    return f"{(settings.get('web_base') or WEB).rstrip('/')}/{quote(name, safe='._')}/"

def _look(settings: Mapping[str, Any]) -> Look:
    # A caption's links are plain text on Instagram: no card.
    name = str(settings.get("username") or "").lstrip("@")
    return Look(handle=f"@{name}" if name else None)


SPEC = PlatformSpec(
    name="instagram",
    label="Instagram",
    form_label="Instagram (professional account)",
    adapter="civicpost.platforms.instagram.adapter:InstagramAdapter",
    credentials=InstagramCredentials,
    settings=InstagramSettings,
    length=LengthRule(
        _measure, note=" (Instagram may count each emoji as 2)",
        checks=(_at_most(_HASHTAG, HASHTAGS, "hashtags", "too_many_hashtags"),
                _at_most(_MENTION, MENTIONS, "@mentions", "too_many_mentions")),
    ),
    media=MediaLimits(IMAGES, IMAGE_BYTES, ALT_TEXT, required=True, mime_types=frozenset({"image/jpeg"})),
    capabilities=Capabilities(thread=False, delete=False, find=True, metrics=True, alt_text=True),
    metrics_batch=25,
    outbound_urls=("api_base",),
    profile=profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"access_token": "sandbox-instagram-token"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/instagram", "web_base": f"{sandbox}/instagram",
                                  "ig_user_id": SANDBOX_ACCOUNT, "username": "cityofsandbox"},
    ),
    daily_limit=DAILY_POSTS,
    where_to_look="the account's posts in the Instagram app",
)

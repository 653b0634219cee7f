"""Bluesky through atproto (adapter.py): link and hashtag facets, alt text, and
a record key derived from the delivery, so a repeat cannot post twice."""

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import StringConstraints

from civicpost.media import MediaLimits
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
from civicpost.text.lengths import Measure, graphemes, utf8_bytes

GRAPHEME_LIMIT = 300
BYTE_LIMIT = 3_000
IMAGE_BYTES = 1_000_000  # app.bsky.embed.images blob maxSize
ALT_TEXT_LIMIT = 2_000  # social-app MAX_ALT_TEXT, counted in graphemes

# The account's name as the platform writes it, learned by Test connection (for previews).
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^@?[A-Za-z0-9.-]{1,253}$")]


class BlueskyCredentials(Fields):
    handle: Secret = field("Handle", hint="For example parks.example.gov.")
    app_password: Secret = field("App password",
                                 hint="Made under Settings, App passwords; never the account's own password.")


class BlueskySettings(Fields):
    api_base: HttpUrl | None = api_base("https://bsky.social (without /xrpc)")
    web_base: HttpUrl | None = web_base("https://bsky.app")
    overflow: Overflow | None = overflow()
    handle: AccountName | None = field(
        "Handle shown on posts", default=None, hint="Leave empty: Test connection fills it in from the sign-in.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(graphemes(text), GRAPHEME_LIMIT, utf8_bytes(text), BYTE_LIMIT)


_PROFILE_IN_POST = re.compile(r"^(https://bsky\.app/profile/[^/?#]+)/post/[^/?#]+$")


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    match = _PROFILE_IN_POST.match(remote_url or "")
    return match.group(1) if match else None


def _look(settings: Mapping[str, Any]) -> Look:
    handle = str(settings.get("handle") or "").lstrip("@")
    return Look(handle=f"@{handle}" if handle else None, link_card=True)


# Why residents' replies there are kept but not moderated from civicpost.
NOTE = ("Bluesky does not let civicpost hide or delete other people's replies: "
        "hide them in the Bluesky app, or report them.")

SPEC = PlatformSpec(
    name="bluesky",
    label="Bluesky",
    form_label="Bluesky",
    adapter="civicpost.platforms.bluesky.adapter:BlueskyAdapter",
    credentials=BlueskyCredentials,
    settings=BlueskySettings,
    length=LengthRule(_measure),
    media=MediaLimits(4, IMAGE_BYTES, ALT_TEXT_LIMIT, shrink_to_fit=True, count_alt=graphemes),
    capabilities=Capabilities(thread=True, delete=True, find=True, metrics=True, alt_text=True, latest_post=True,
                              replies=True, moderation_note=NOTE),
    metrics_batch=25,
    outbound_urls=("api_base",),
    profile=_profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"handle": f"{department}.demo.city", "app_password": "sandbox-app-password"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/bluesky", "web_base": f"{sandbox}/bluesky"},
    ),
)

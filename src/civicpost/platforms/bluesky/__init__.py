"""Bluesky through atproto (adapter.py): link and hashtag facets, alt text, and
a record key derived from the delivery, so a repeat cannot post twice."""

import re
from collections.abc import Mapping
from typing import Any

from civicpost.media import MediaLimits
from civicpost.platforms.spec import (
    Capabilities,
    Fields,
    HttpUrl,
    LengthRule,
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


class BlueskyCredentials(Fields):
    handle: Secret = field("Handle", hint="For example parks.example.gov.")
    app_password: Secret = field("App password",
                                 hint="Made under Settings, App passwords; never the account's own password.")


class BlueskySettings(Fields):
    api_base: HttpUrl | None = api_base("https://bsky.social (without /xrpc)")
    web_base: HttpUrl | None = web_base("https://bsky.app")
    overflow: Overflow | None = overflow()


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(graphemes(text), GRAPHEME_LIMIT, utf8_bytes(text), BYTE_LIMIT)


_PROFILE_IN_POST = re.compile(r"^(https://bsky\.app/profile/[^/?#]+)/post/[^/?#]+$")


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    match = _PROFILE_IN_POST.match(remote_url or "")
    return match.group(1) if match else None


SPEC = PlatformSpec(
    name="bluesky",
    label="Bluesky",
    form_label="Bluesky",
    adapter="civicpost.platforms.bluesky.adapter:BlueskyAdapter",
    credentials=BlueskyCredentials,
    settings=BlueskySettings,
    length=LengthRule(_measure),
    media=MediaLimits(4, IMAGE_BYTES, ALT_TEXT_LIMIT, shrink_to_fit=True, count_alt=graphemes),
    capabilities=Capabilities(thread=True, delete=True, find=True, metrics=True, alt_text=True),
    metrics_batch=25,
    outbound_urls=("api_base",),
    profile=_profile,
    sandbox=SandboxChannel(
        credentials=lambda department: {"handle": f"{department}.demo.city", "app_password": "sandbox-app-password"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/bluesky", "web_base": f"{sandbox}/bluesky"},
    ),
)

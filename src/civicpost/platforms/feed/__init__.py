"""The city's own public page and its Atom and JSON feeds: no network, no credentials."""

from collections.abc import Mapping
from typing import Any

from civicpost.media import NO_MEDIA_LIMITS
from civicpost.platforms.spec import Capabilities, Fields, HttpUrl, LengthRule, PlatformSpec, field
from civicpost.text.lengths import Measure


class FeedCredentials(Fields):
    pass


class FeedSettings(Fields):
    url: HttpUrl | None = field("Public address of the city site", kind="url", default=None,
                                hint="Leave empty for this site's own address.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(len(text), None)


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    return settings.get("url") or ""  # "" : this site itself (the directory links to it)


SPEC = PlatformSpec(
    name="feed",
    label="City website",
    form_label="City website and feeds",
    adapter="civicpost.platforms.feed.adapter:FeedAdapter",
    credentials=FeedCredentials,
    settings=FeedSettings,
    length=LengthRule(_measure),
    media=NO_MEDIA_LIMITS,
    capabilities=Capabilities(thread=False, delete=True, find=True, metrics=False, alt_text=True, city_site=True),
    outbound_urls=(),
    profile=_profile,
    sandbox=None,
    extras={"html": "feed.html.j2"},
)

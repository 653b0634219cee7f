"""The city's own public page and its Atom and JSON feeds: no network, no credentials."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from civicpost.media import NO_MEDIA_LIMITS
from civicpost.platforms.spec import Capabilities, Fields, HttpUrl, LengthRule, Look, PlatformSpec, field
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

def _look(settings: Mapping[str, Any]) -> Look:
    # Without its own address the site is this one: the preview names it.
    return Look(handle=urlsplit(str(settings.get("url") or "")).hostname or None)


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
    look=_look,
    sandbox=None,
    extras={"html": "feed.html.j2"},
)

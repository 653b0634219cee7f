"""Mastodon through Mastodon.py 2.x (adapter.py): no version probe, ratelimit
"throw", an explicit timeout, and the delivery's key as Idempotency-Key."""

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

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
    field,
    overflow,
)
from civicpost.text.lengths import Measure, mastodon_length

DEFAULT_LIMIT = 500

# The account's name as the platform writes it, learned by Test connection (for previews).
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^@?[A-Za-z0-9_.-]{1,64}$")]


class MastodonCredentials(Fields):
    access_token: Secret = field("Access token", hint="From Preferences, Development, of the city's account.")


class MastodonSettings(Fields):
    api_base: HttpUrl = field("Instance address", kind="url", hint="For example https://mastodon.social.")
    max_characters: int | None = field(
        "Post length limit", kind="number", default=None, ge=1, le=100_000,
        hint="Leave empty: Test connection reads it from the instance (500 until then).")
    overflow: Overflow | None = overflow()
    username: AccountName | None = field(
        "Account name", default=None, hint="The @name on the instance. Leave empty: Test connection fills it in.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(mastodon_length(text), int(settings.get("max_characters") or DEFAULT_LIMIT))


_PROFILE_IN_POST = re.compile(r"^(https?://[^/?#]+(?:/[^?#]*)?/@[^/?#]+)/[^/?#]+$")


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    match = _PROFILE_IN_POST.match(remote_url or "")
    return match.group(1) if match else None


def _look(settings: Mapping[str, Any]) -> Look:
    name, host = str(settings.get("username") or "").lstrip("@"), urlsplit(str(settings.get("api_base") or "")).hostname
    return Look(handle=f"@{name}@{host}" if name and host else None, link_card=True)


# Why residents' replies there are kept but not moderated from civicpost.
NOTE = ("Mastodon does not let an account hide or delete other people's replies: "
        "report them to the instance's moderators.")

SPEC = PlatformSpec(
    name="mastodon",
    label="Mastodon",
    form_label="Mastodon",
    adapter="civicpost.platforms.mastodon.adapter:MastodonAdapter",
    credentials=MastodonCredentials,
    settings=MastodonSettings,
    length=LengthRule(_measure, note=" (Mastodon counts every link as 23 characters)"),
    media=MediaLimits(4, 16 * 1024 * 1024, 1_500),  # MediaAttachment::MAX_DESCRIPTION_LENGTH
    capabilities=Capabilities(thread=True, delete=True, find=True, metrics=True, alt_text=True, latest_post=True,
                              replies=True, moderation_note=NOTE),
    metrics_batch=20,
    outbound_urls=("api_base",),
    profile=_profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"access_token": "sandbox-token"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/mastodon"},
    ),
)

"""X (Twitter): tweepy's v2 Client with our own v2 media upload (adapter.py)."""

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import StringConstraints, model_validator

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
from civicpost.text.lengths import Measure, x_invalid_characters, x_length

LIMIT = 280
OAUTH1 = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")

# The account's name as the platform writes it, learned by Test connection (for previews).
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^@?[A-Za-z0-9_]{1,15}$")]


class XCredentials(Fields):
    consumer_key: Secret | None = field("Consumer key (API key)", default=None,
                                        hint="OAuth 1.0a: fill in these four, or the OAuth 2.0 token below.")
    consumer_secret: Secret | None = field("Consumer secret (API key secret)", default=None)
    access_token: Secret | None = field("Access token", default=None)
    access_token_secret: Secret | None = field("Access token secret", default=None)
    oauth2_access_token: Secret | None = field("OAuth 2.0 user access token", default=None)
    oauth2_refresh_token: Secret | None = field("OAuth 2.0 refresh token", default=None)
    client_id: Secret | None = field("OAuth 2.0 client ID", default=None)
    client_secret: Secret | None = field("OAuth 2.0 client secret", default=None,
                                         hint="Only for a confidential client; with the refresh token and client ID, "
                                              "civicpost renews the access token before it ends.")

    @model_validator(mode="after")
    def _one_complete_set(self) -> "XCredentials":
        if self.oauth2_access_token is None and any(getattr(self, key) is None for key in OAUTH1):
            raise ValueError("X needs the four OAuth 1.0a keys (consumer key and secret, access token and "
                             "secret) or an OAuth 2.0 user access token")
        return self


class XSettings(Fields):
    api_base: HttpUrl | None = api_base("https://api.twitter.com")
    web_base: HttpUrl | None = web_base("https://x.com")
    overflow: Overflow | None = overflow()
    username: AccountName | None = field(
        "Account name", default=None, hint="The @name without the @. Leave empty: Test connection fills it in.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(x_length(text), LIMIT, refused=x_invalid_characters(text))


# A post's address with the account's part in group 1.
_PROFILE_IN_POST = re.compile(r"^(https://(?:www\.)?(?:x|twitter)\.com/(?!i/)[A-Za-z0-9_]{1,15})/status/\d+")


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    match = _PROFILE_IN_POST.match(remote_url or "")
    return match.group(1) if match else None


def _look(settings: Mapping[str, Any]) -> Look:
    name = str(settings.get("username") or "").lstrip("@")
    return Look(handle=f"@{name}" if name else None, link_card=True)


# Why residents' replies there are hidden, never deleted, from civicpost.
NOTE = ("X lets the city hide a reply (with a channel connected by OAuth 2.0), not delete someone else's; "
        "replies are read where the account's access level allows searching.")

SPEC = PlatformSpec(
    name="x",
    label="X",
    form_label="X (Twitter)",
    adapter="civicpost.platforms.x.adapter:XAdapter",
    credentials=XCredentials,
    settings=XSettings,
    length=LengthRule(_measure, note=" (X counts every link as 23 characters, emoji and CJK characters as 2)"),
    media=MediaLimits(4, 5 * 1024 * 1024, 1_000),
    capabilities=Capabilities(thread=True, delete=True, find=True, metrics=True, alt_text=True, latest_post=True,
                              replies=True, hide_replies=True, moderation_note=NOTE),
    metrics_batch=100,
    renew_access="civicpost.platforms.x.oauth2:refresh",
    outbound_urls=("api_base",),
    profile=_profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {key: "sandbox" for key in OAUTH1},
        settings=lambda sandbox: {"api_base": f"{sandbox}/x", "web_base": f"{sandbox}/x"},
    ),
)

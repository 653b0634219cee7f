"""Facebook Pages through a thin httpx Graph API client (adapter.py).

Not facebook-sdk: its last release (3.1.0, 2018) refuses every Graph API
version Meta still serves, puts the token in URLs and hides HTTP status.
"""

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import StringConstraints

from civicpost.media import MediaLimits
from civicpost.platforms.spec import (
    Capabilities,
    Fields,
    HttpUrl,
    LengthRule,
    Look,
    PlatformSpec,
    SandboxChannel,
    Secret,
    Text,
    api_base,
    field,
    web_base,
)
from civicpost.text.lengths import Measure, utf16_units

LIMIT = 63_206
SANDBOX_PAGE = "102030405060708"


class FacebookCredentials(Fields):
    page_access_token: Secret = field("Page access token", hint="A Page token, never a personal user token.")


class FacebookSettings(Fields):
    page_id: Text = field("Page ID")
    graph_version: Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")] | None = field(
        "Graph API version", default=None, hint="For example v23.0; leave empty for the current one.")
    api_base: HttpUrl | None = api_base("https://graph.facebook.com")
    web_base: HttpUrl | None = web_base("https://www.facebook.com")
    page_name: Text | None = field("Page name", default=None,
                                   hint="As the Page shows it. Leave empty: Test connection fills it in.")
    insights_metrics: list[Text] | None = field(
        "Page insights metrics", kind="list", default=None, max_length=20,
        hint="Read with each post's reactions, comments and shares, e.g. post_impressions_unique, post_clicks. "
             "One Meta renamed or retired is skipped with a warning in the log.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(utf16_units(text), LIMIT)


# A post's address with the Page's part in group 1.
_PAGE_IN_POST = re.compile(r"^(https://(?:www\.)?facebook\.com/[^/?#]+)/posts/[^/?#]+$")


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    page = settings.get("page_id")
    if page:
        return f"https://www.facebook.com/{quote(str(page), safe='')}"
    match = _PAGE_IN_POST.match(remote_url or "")
    return match.group(1) if match else None


def _look(settings: Mapping[str, Any]) -> Look:
    return Look(name=settings.get("page_name") or None, link_card=True)


SPEC = PlatformSpec(
    name="facebook",
    label="Facebook",
    form_label="Facebook Page",
    adapter="civicpost.platforms.facebook.adapter:FacebookAdapter",
    credentials=FacebookCredentials,
    settings=FacebookSettings,
    length=LengthRule(_measure),
    media=MediaLimits(10, 4 * 1024 * 1024, None),
    capabilities=Capabilities(thread=False, delete=True, find=True, metrics=True, alt_text=True, latest_post=True,
                              replies=True, hide_replies=True, remove_replies=True),
    metrics_batch=50,
    outbound_urls=("api_base",),
    profile=_profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"page_access_token": "sandbox-page-token"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/graph", "web_base": f"{sandbox}/facebook",
                                  "page_id": SANDBOX_PAGE},
    ),
)

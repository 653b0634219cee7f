"""LinkedIn Pages through the versioned REST Posts API (adapter.py).

A city posts as its Page (an organization) with a member's token that has
`w_organization_social`; every request names the API version it was written
for (`Linkedin-Version: YYYYMM`), and LinkedIn retires each version about a
year after its release.
"""

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import StringConstraints

from civicpost.media import MediaLimits
from civicpost.platforms.linkedin import little
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

# The Posts API's commentary limit. LinkedIn's servers are Java, whose string
# length is UTF-16 units: never fewer than characters.
LIMIT = 3_000
# A post carries one image (`content.media`) or 2 to 20 (`content.multiImage`).
MAX_IMAGES = 20
ALT_TEXT_LIMIT = 4_086
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
WEB_BASE = "https://www.linkedin.com"
# The newest version when this was written; a channel's `linkedin_version` overrides it.
DEFAULT_VERSION = "202607"
SANDBOX_ORGANIZATION = "urn:li:organization:90412537"

OrganizationUrn = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^urn:li:organization:[0-9]{1,19}$")]
Version = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^20[0-9]{2}(0[1-9]|1[0-2])$")]
VanityName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")]


class LinkedInCredentials(Fields):
    access_token: Secret = field(
        "Access token",
        hint="A member's token with w_organization_social, from the city's LinkedIn app; the member must "
             "be an administrator or content admin of the Page. It lasts 60 days.")
    client_id: Secret | None = field(
        "App client ID", default=None,
        hint="Optional, with the client secret: civicpost then asks LinkedIn when the token ends "
             "(token introspection) and the weekly report warns two weeks before.")
    client_secret: Secret | None = field("App client secret", default=None)


class LinkedInSettings(Fields):
    organization_urn: OrganizationUrn = field(
        "Page (organization URN)",
        hint="urn:li:organization: and the number in the Page's admin address, linkedin.com/company/NUMBER/admin.")
    linkedin_version: Version | None = field(
        "API version", default=None,
        hint=f"YYYYMM, sent as Linkedin-Version; leave empty for {DEFAULT_VERSION}. "
             "LinkedIn retires each version about a year after it came out.")
    vanity_name: VanityName | None = field(
        "Page's public address name", default=None,
        hint="The part after linkedin.com/company/; leave empty: Test connection reads it from LinkedIn.")
    api_base: HttpUrl | None = api_base("https://api.linkedin.com")
    web_base: HttpUrl | None = web_base(WEB_BASE)


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    # LinkedIn receives the text escaped (see little.py), and the limit is
    # checked on what it receives: each escaped character counts twice.
    return Measure(utf16_units(little.escape(text)), LIMIT)


def _profile(settings: Mapping[str, Any], remote_url: str | None) -> str | None:
    """The Page at linkedin.com/company/, by its address name, else by its number (LinkedIn redirects)."""
    web = str(settings.get("web_base") or WEB_BASE).rstrip("/")
    urn = str(settings.get("organization_urn") or "")
    name = settings.get("vanity_name") or urn.rpartition(":")[2]
    return f"{web}/company/{quote(str(name), safe='')}" if name else None

def _look(settings: Mapping[str, Any]) -> Look:
    return Look(link_card=True)  # a Page's posts show its name, which only the channel's name tells here


SPEC = PlatformSpec(
    name="linkedin",
    label="LinkedIn",
    form_label="LinkedIn Page",
    adapter="civicpost.platforms.linkedin.adapter:LinkedInAdapter",
    credentials=LinkedInCredentials,
    settings=LinkedInSettings,
    length=LengthRule(
        _measure, note=" (LinkedIn counts \\ | { } @ [ ] ( ) < > * _ ~ twice, and # too outside a hashtag)"),
    media=MediaLimits(MAX_IMAGES, None, ALT_TEXT_LIMIT, mime_types=IMAGE_TYPES),
    capabilities=Capabilities(thread=False, delete=True, find=True, metrics=False, alt_text=True),
    outbound_urls=("api_base",),
    profile=_profile,
    look=_look,
    sandbox=SandboxChannel(
        credentials=lambda department: {"access_token": f"sandbox-{department}-token"},
        settings=lambda sandbox: {"api_base": f"{sandbox}/linkedin", "web_base": f"{sandbox}/linkedin",
                                  "organization_urn": SANDBOX_ORGANIZATION},
    ),
)

"""A platform is one spec: everything civicpost knows about it, in one object.

Each platform is a package under civicpost/platforms/ whose `SPEC` names its
adapter, the typed models of its credentials and settings (from which the API's
validation and the admin form follow), how it counts a post's length, what
images it takes, what it can do, and where its accounts live. Tables that used
to be written out by hand for every platform (lengths, media limits, form
fields, directory links, which posts can be deleted or looked up) are read
from the specs, so a platform added here is complete or the registry's checks
fail.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from civicpost.content import Problem
from civicpost.media import MediaLimits
from civicpost.text.lengths import Measure
from civicpost.text.rules import OneLineFirst

Kind = Literal["text", "url", "email", "number", "overflow", "yesno", "list"]


def _http_url(value: str) -> str:
    scheme, _, rest = value.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith(("/", "?", "#")):
        raise ValueError("must be an http:// or https:// URL")
    return value


# The shapes a platform's fields take; every text is one line, free of control characters.
Secret = Annotated[str, OneLineFirst, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]
Text = Annotated[str, OneLineFirst, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
HttpUrl = Annotated[str, OneLineFirst, StringConstraints(strip_whitespace=True, max_length=2048),
                    AfterValidator(_http_url)]
Overflow = Literal["refuse", "thread"]


class Fields(BaseModel):
    """Base of every platform's credential and setting models: unknown keys are
    refused by name (a typo must not be stored and silently ignored)."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True,
                              validate_by_name=False, serialize_by_alias=True)


def field(label: str, *, hint: str = "", kind: Kind = "text", default: Any = ..., **constraints: Any) -> Any:
    """A model field that also describes its form input: label, hint, kind."""
    return Field(default, title=label, description=hint or None, json_schema_extra={"kind": kind}, **constraints)


def api_base(default: str) -> Any:
    return field("API address", kind="url", default=None,
                 hint=f"Leave empty for {default}; set it to go through a gateway or the sandbox.")


def web_base(default: str) -> Any:
    return field("Address where people read posts", kind="url", default=None,
                 hint=f"Leave empty for {default}; the sandbox sets its own.")


def overflow() -> Any:
    return field("When a post is too long", kind="overflow", default=None,
                 hint="Refuse it (default) or post it as a thread.")


@dataclass(frozen=True)
class LengthRule:
    """How a platform counts a post; `note` says it in words for a drafter.

    `checks` are the platform's other rules for a post's words, whatever its
    length (Instagram: 30 hashtags; Threads: 5 links): each answers a blocking
    Problem when the text (each part of a thread) breaks it, else None.
    """

    measure: Callable[[str, Mapping[str, Any]], Measure]
    note: str = ""
    checks: tuple[Callable[[str], Problem | None], ...] = ()


@dataclass(frozen=True)
class Capabilities:
    thread: bool  # a post too long may go out as a reply chain (the channel's `overflow` says whether)
    delete: bool  # a retract can take a post down
    find: bool  # reconciliation can ask whether a post is there
    metrics: bool  # the platform tells how a post did
    alt_text: bool  # images carry alt text to the platform
    # An unclear send may simply be sent again: the receiver deduplicates on
    # the delivery's key (a webhook). Otherwise a post that cannot be found
    # is `unknown` for a person.
    resend_when_unclear: bool = False
    # The city's own web page and feeds: the public site lists these posts.
    city_site: bool = False
    # The platform tells when the account last posted, in any app (the adapter speaks LatestPost).
    latest_post: bool = False
    # Residents' replies to a post can be read (the adapter speaks Replies).
    replies: bool = False
    # A reply can be hidden from the post, or deleted, by the post's author (the adapter speaks ReplyModeration).
    hide_replies: bool = False
    remove_replies: bool = False
    # Why a reply cannot be hidden or removed from civicpost, in words for staff.
    moderation_note: str = ""
    # One delivery becomes a message to each resident who subscribed (civicpost.fanout), not one call.
    fanout: bool = False


@dataclass(frozen=True)
class Look:
    """How a post on the platform shows its account, for a preview: from the channel's settings only, so a
    secret can never appear. Nothing known: the preview shows the channel's name alone."""

    name: str | None = None  # the display name the platform shows (a Facebook Page's name)
    handle: str | None = None  # as the platform writes it: @parks_city, @parks@city.social, a From address
    link_card: bool = False  # the platform shows a card (domain and title) for a link in the post


def no_look(settings: Mapping[str, Any]) -> Look:
    return Look()


@dataclass(frozen=True)
class SandboxChannel:
    """How `civicpost demo` points a channel of this platform at the sandbox."""

    credentials: Callable[[str], dict[str, Any]]  # department slug -> credentials
    settings: Callable[[str], dict[str, Any]]  # sandbox base URL -> settings


@dataclass(frozen=True)
class PlatformSpec:
    name: str  # the platform's key in the API and the database
    label: str  # as its owner writes it: "X", "Facebook", "Bluesky"
    form_label: str  # in the admin's list of platforms: "X (Twitter)", "Facebook Page"
    adapter: str  # "module:Class", imported when a channel of it is used
    credentials: type[Fields]
    settings: type[Fields]
    length: LengthRule
    media: MediaLimits
    capabilities: Capabilities
    # Settings that name where the channel connects, checked before use (SPEC §8.1).
    outbound_urls: tuple[str, ...]
    # The account's public page from its settings and a post's address, for the directory; None: not listed.
    profile: Callable[[Mapping[str, Any], str | None], str | None] | None
    sandbox: SandboxChannel | None
    # Other rendered pieces, each from its own template: key -> template file.
    extras: Mapping[str, str] = None  # type: ignore[assignment]
    # (host, port) settings of a connection that is not a URL (SMTP).
    outbound_host: tuple[str, str] | None = None
    # What the accessibility lint reads: the text sent, or the title and body (a webhook's text is JSON).
    lint_wording: bool = False
    # Posts the platform allows a channel in 24 hours, checked before approval.
    daily_limit: int | None = None
    # Where a person checks for a post civicpost cannot look up (no `find`).
    where_to_look: str = ""
    # The account's name and handle and whether a link gets a card, as a preview shows them.
    look: Callable[[Mapping[str, Any]], Look] = no_look
    # Posts whose counts one reading asks for (capabilities.metrics), within the platform's own limit.
    metrics_batch: int = 0
    # "module:function" that renews the channel's access before it ends (civicpost.renewal), imported when used:
    # (credentials, settings, *, now, timeout, guard) -> Renewed, or it raises the seam's errors.
    renew_access: str = ""

    def __post_init__(self) -> None:
        if self.extras is None:
            object.__setattr__(self, "extras", {})

    @property
    def template(self) -> str:
        return f"{self.name}.txt.j2"

    def measure(self, text: str, settings: Mapping[str, Any] | None = None) -> Measure:
        return self.length.measure(text, settings or {})

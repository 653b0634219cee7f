"""Request bodies: strict pydantic models with a limit on every string.

Every text field is one of the shared string types below, so the API, the
staff forms (which validate through these same models) and anything added
later refuse the same characters with the same words.
"""

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
)

from civicpost import cap
from civicpost.models import Role
from civicpost.platforms import SPECS, PlatformSpec
from civicpost.text.rules import REFUSED_IN_ONE_LINE, Lines, OneLine, refuse

# Ids are INTEGER columns: 64-bit in SQLite but 32-bit in PostgreSQL, so
# anything outside 1..2^31-1 cannot name a row, and a larger number overflows
# the driver or the database (a 500).
MAX_ID = 2**31 - 1
_ASCII_ID = re.compile(r"[1-9][0-9]{0,9}")


def parse_id(text: str) -> int | None:
    """An id typed as text, or None. ASCII digits only: str.isdigit() accepts
    "²", which int() then refuses."""
    if not _ASCII_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


Id = Annotated[int, Field(ge=1, le=MAX_ID, description="an id: a whole number from 1 to 2147483647")]


Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"),
    Field(description="lower-case letters, digits and hyphens, up to 63"),
]
Language = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"),
    Field(description="a language tag such as 'en', 'es' or 'pt-BR'"),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine,
    Field(description="one line, up to 200 characters"),
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine,
    Field(description="one line, up to 200 characters"),
]
Body = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), Lines,
    Field(description="plain text; line breaks and tabs are kept, other control characters refused"),
]
# Alt text is read aloud and may run to several sentences on separate lines.
AltText = Annotated[str, StringConstraints(max_length=5000), Lines]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Lines]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^https?://[^\s/$.?#][^\s]*$"),
    OneLine,
    Field(description="an http:// or https:// address"),
]
MediaId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    OneLine,
]

# Nothing is scheduled further ahead than this: a date in year 9999 is a typo,
# and near the end of the calendar converting it to UTC overflows.
MAX_YEARS_AHEAD = 5


def horizon(today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    try:
        return today.replace(year=today.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + MAX_YEARS_AHEAD, day=28)


def check_horizon(value: datetime | date) -> None:
    """Refuse a publish time beyond the horizon, or one at the calendar's edge
    that cannot even be converted to UTC; raises ValueError with a sentence."""
    day = value
    if isinstance(value, datetime):
        try:
            day = value.astimezone(UTC).date()
        except OverflowError:
            raise ValueError(f"is outside the calendar; choose a date before {horizon():%Y-%m-%d}") from None
    if day > horizon():
        raise ValueError(f"is more than {MAX_YEARS_AHEAD} years ahead; choose a date before {horizon():%Y-%m-%d}")


_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_instant(value: Any) -> datetime | date | None:
    """An aware datetime, or a bare date (read later as the start of that day in
    the city's zone). A datetime without an offset is refused: it would mean a
    different moment to every reader."""
    if value is None or isinstance(value, datetime | date):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = date.fromisoformat(text) if _DATE_ONLY.match(text) else datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "not a date and time; use RFC 3339 with an offset, e.g. 2026-12-01T09:00:00-05:00"
            ) from None
    else:
        raise ValueError("must be a string such as 2026-12-01T09:00:00-05:00")
    if isinstance(result, datetime) and result.tzinfo is None:
        raise ValueError(
            "has no time zone offset; add one, e.g. 2026-12-01T09:00:00-05:00 or "
            "2026-12-01T14:00:00Z, so everyone reads the same moment"
        )
    if result is not None:
        check_horizon(result)
    return result



class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepartmentIn(Strict):
    slug: Slug
    name: Name


class UserIn(Strict):
    email: Email
    name: Name
    role: Role = Role.staff
    departments: list[Slug] = Field(default_factory=list, max_length=100)
    password: str = Field(min_length=12, max_length=1024)


def _one_line_values(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """Channel settings and credentials are addresses, names, numbers and
    tokens: every string in them, however deep, is one line."""
    stack: list[Any] = [value]
    while stack:  # not recursive: a deeply nested body must not exhaust the stack
        item = stack.pop()
        if isinstance(item, str):
            refuse(REFUSED_IN_ONE_LINE.search(item), info, one_line=True)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


ChannelValues = Annotated[dict[Annotated[str, StringConstraints(max_length=64)], Any], AfterValidator(_one_line_values)]


class ChannelShape(Strict):
    """What every platform's channel has; each platform's model narrows `platform`,
    `credentials` and `settings` to its own."""

    department: str
    platform: str
    name: str
    language: str = "en"
    credentials: BaseModel
    settings: BaseModel
    # The announcement's link goes out as /r/{code}; its clicks are counted for this channel.
    track_links: bool = False


class ChannelPatch(Strict):
    """What an admin may change of a channel after it is made (credentials have their own route)."""

    track_links: bool | None = None
    active: bool | None = None
    # Silent this many days, the channel is named as quiet (dashboard, weekly mail, metrics).
    stale_after_days: int | None = Field(default=None, ge=1, le=3650)


def _channel_in(spec: PlatformSpec) -> type[ChannelShape]:
    """A channel of one platform: its credentials and settings typed by the platform's spec."""
    return create_model(
        f"{spec.name.title()}ChannelIn",
        __base__=ChannelShape,
        __doc__=f"A {spec.form_label} channel.",
        department=(Slug, ...),
        platform=(Literal[spec.name], ...),  # type: ignore[arg-type]
        name=(Name, ...),
        language=(Language, "en"),
        credentials=(spec.credentials, Field(default_factory=dict, validate_default=True)),
        settings=(spec.settings, Field(default_factory=dict, validate_default=True)),
    )


# One shape per platform, told apart by `platform`: what each needs is in the OpenAPI document.
# Type checkers, which cannot follow a union built at import, see the shape they share.
if TYPE_CHECKING:
    ChannelIn = ChannelShape
else:
    ChannelIn = Annotated[Union[tuple(_channel_in(s) for s in SPECS.values())], Field(discriminator="platform")]  # noqa: UP007


class CredentialsIn(Strict):
    credentials: ChannelValues = Field(max_length=20)


class TranslationIn(Strict):
    title: Title
    body: Body


class MediaIn(Strict):
    id: MediaId
    alt_text: AltText = ""


# Used verbatim for one channel (not stripped), with the same characters refused as in a body.
Override = Annotated[str, StringConstraints(min_length=1, max_length=70_000), Lines]


class _Content(Strict):
    @field_validator("publish_at", mode="before", check_fields=False)
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return parse_instant(value)

    @field_validator("event_start", "event_end", mode="before", check_fields=False)
    @classmethod
    def _event_moment(cls, value: Any) -> Any:
        moment = parse_instant(value)
        if moment is not None and not isinstance(moment, datetime):
            raise ValueError("needs a time as well as a date, with an offset, e.g. 2026-12-01T18:00:00-05:00")
        return moment

    @field_validator("overrides", check_fields=False)
    @classmethod
    def _override_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in value or {}:
            if parse_id(key) is None:
                raise ValueError(f"keys are channel ids; '{key[:30]}' is not one (a whole number such as 12)")
        return value


AlertText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), OneLine]
Polygon = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=10_000), OneLine,
    Field(description='CAP 1.2 polygon: four or more "lat,lon" pairs separated by spaces, the first repeated last, '
                      'e.g. "39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65"'),
]


class AlertIn(Strict):
    """What a CAP 1.2 alert says beyond the announcement's words (emergency announcements only)."""

    event: AlertText = Field(description="what is happening, in a few words: 'Water main break'")
    category: cap.Category
    urgency: cap.Urgency
    severity: cap.Severity
    certainty: cap.Certainty
    expires: datetime = Field(description="when the alert ends, with an offset; in the future and after the "
                                          "publish time")
    instruction: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
                           Lines] | None = Field(default=None, description="what residents should do")
    area_desc: AlertText = Field(description="the area in words: 'East side, Elm to Oak Street'")
    polygon: Polygon | None = None
    exercise: bool = Field(default=False, description="a drill: the CAP status is Exercise")

    @field_validator("expires", mode="before")
    @classmethod
    def _expires(cls, value: Any) -> Any:
        moment = parse_instant(value)
        if not isinstance(moment, datetime):
            raise ValueError("needs a time as well as a date, with an offset, e.g. 2026-12-01T18:00:00-05:00")
        if moment <= datetime.now(UTC):
            raise ValueError("is in the past; an alert must end in the future")
        return moment

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, value: str | None) -> str | None:
        if value is not None and not cap.polygon_valid(value):
            raise ValueError('is not a CAP polygon: give four or more "lat,lon" pairs separated by spaces, '
                             "latitude -90 to 90 and longitude -180 to 180, the first pair repeated last")
        return value


# An announcement may be about an event: the topics' calendars (/t/{slug}/calendar.ics) list it.
EVENT_START = "when the event it announces starts, with an offset, e.g. 2026-12-01T18:00:00-05:00"
EVENT_END = "when that event ends (after event_start); without one, calendars show an hour"
Location = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), OneLine,
    Field(description="where the event is, one line: 'Elm Street Pool, 12 Elm St'"),
]


class AnnouncementIn(_Content):
    department: Slug
    title: Title
    body: Body
    link: Url | None = None
    language: Language = "en"
    translations: dict[Language, TranslationIn] = Field(default_factory=dict, max_length=30)
    channels: list[Id] = Field(default_factory=list, max_length=100)
    overrides: dict[str, Override] = Field(default_factory=dict, max_length=100)
    media: list[MediaIn] = Field(default_factory=list, max_length=10)
    publish_at: datetime | date | None = None
    emergency: bool = False
    alert: AlertIn | None = Field(default=None, description="CAP alert details; only on an emergency announcement")
    event_start: datetime | None = Field(default=None, description=EVENT_START)
    event_end: datetime | None = Field(default=None, description=EVENT_END)
    location: Location | None = None


class AnnouncementPatch(_Content):
    title: Title | None = None
    body: Body | None = None
    link: Url | None = None
    language: Language | None = None
    translations: dict[Language, TranslationIn] | None = Field(default=None, max_length=30)
    channels: list[Id] | None = Field(default=None, max_length=100)
    overrides: dict[str, Override] | None = Field(default=None, max_length=100)
    media: list[MediaIn] | None = Field(default=None, max_length=10)
    publish_at: datetime | date | None = None
    emergency: bool | None = None
    alert: AlertIn | None = Field(default=None, description="CAP alert details (null removes them); only on an "
                                                            "emergency announcement")
    event_start: datetime | None = Field(default=None, description=EVENT_START + " (null removes it)")
    event_end: datetime | None = Field(default=None, description=EVENT_END + " (null removes it)")
    location: Location | None = None


FINGERPRINT_PATTERN = r"^[0-9a-f]{64}$"


class ApproveIn(Strict):
    """What the approver looked at: the `fingerprint` shown by GET /announcements/{id}."""

    # Required (the schema says so); a missing one is refused by the handler,
    # whose message says where to find it, instead of a bare "Field required".
    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["fingerprint"]})

    fingerprint: Annotated[
        Annotated[str, StringConstraints(pattern=FINGERPRINT_PATTERN)] | None,
        WithJsonSchema({"type": "string", "pattern": FINGERPRINT_PATTERN}),
    ] = Field(default=None, description="the fingerprint shown by GET /api/v1/announcements/{id}; "
                                        "if the content changed since, the answer is 409")
    confirm_suspended: bool = Field(default=False, description="approve although a suspension pauses this "
                                    "department's posts (else 409); the announcement then waits, held")


class RejectIn(Strict):
    reason: Reason


class RetractIn(Strict):
    reason: Reason | None = Field(default=None, description="why, in the city's words: shown on the announcement's "
                                                            "public address, which answers 410 (1-2000 characters)")


class NoticeWithdrawalIn(Strict):
    reason: Reason = Field(description="the legal reason the retraction notice is withdrawn; kept in the audit trail")


class PublishNowIn(Strict):
    # Checked by the service (drafting/break_glass.py), whose message says what to fix.
    reason: str | None = Field(
        default=None, json_schema_extra={"minLength": 1, "maxLength": 500},
        description="why this emergency cannot wait for a second person (1-500 characters); kept in the record")
    suspend_department: bool = Field(
        default=False, description="also pause the department's other scheduled posts (a suspension with this "
                                   "reason; the emergency itself still goes out)")


class ReviewIn(Strict):
    note: str | None = Field(default=None, json_schema_extra={"maxLength": 2000},
                             description="what the approver found, kept in the record")


MAX_COMMENT_CHARS = 4000
CommentText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_COMMENT_CHARS), Lines,
    Field(description="plain text, up to 4000 characters; line breaks and tabs are kept, other control "
                      "characters refused"),
]


class CommentIn(Strict):
    """A question or an answer on an announcement, for its author and approvers."""

    body: CommentText

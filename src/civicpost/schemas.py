"""Request bodies: strict pydantic models with a limit on every string."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

from civicpost.models import Platform, Role

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
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^https?://[^\s/$.?#][^\s]*$"),
    Field(description="an http:// or https:// address"),
]
MediaId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(value: Any) -> datetime | date | None:
    """An aware datetime, or a bare date (read later as the start of that day in
    the city's zone). A datetime without an offset is refused: it would mean a
    different moment to every reader."""
    if value is None or isinstance(value, datetime | date):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            return date.fromisoformat(text)
        try:
            result = datetime.fromisoformat(text)
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


class ChannelIn(Strict):
    department: Slug
    platform: Platform
    name: Name
    language: Language = "en"
    credentials: dict[Annotated[str, StringConstraints(max_length=64)], Any] = Field(
        default_factory=dict, max_length=20
    )
    settings: dict[Annotated[str, StringConstraints(max_length=64)], Any] = Field(
        default_factory=dict, max_length=20
    )


class CredentialsIn(Strict):
    credentials: dict[Annotated[str, StringConstraints(max_length=64)], Any] = Field(max_length=20)


class TranslationIn(Strict):
    title: Title
    body: Body


class MediaIn(Strict):
    id: MediaId
    alt_text: str = Field(default="", max_length=5000)


Override = Annotated[str, StringConstraints(min_length=1, max_length=70_000)]


class _Content(Strict):
    @field_validator("publish_at", mode="before", check_fields=False)
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return parse_instant(value)

    @field_validator("overrides", check_fields=False)
    @classmethod
    def _override_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in value or {}:
            if not key.isdigit():
                raise ValueError(f"keys are channel ids; '{key}' is not a number")
        return value


class AnnouncementIn(_Content):
    department: Slug
    title: Title
    body: Body
    link: Url | None = None
    language: Language = "en"
    translations: dict[Language, TranslationIn] = Field(default_factory=dict, max_length=30)
    channels: list[int] = Field(default_factory=list, max_length=100)
    overrides: dict[str, Override] = Field(default_factory=dict, max_length=100)
    media: list[MediaIn] = Field(default_factory=list, max_length=10)
    publish_at: datetime | date | None = None
    emergency: bool = False


class AnnouncementPatch(_Content):
    title: Title | None = None
    body: Body | None = None
    link: Url | None = None
    language: Language | None = None
    translations: dict[Language, TranslationIn] | None = Field(default=None, max_length=30)
    channels: list[int] | None = Field(default=None, max_length=100)
    overrides: dict[str, Override] | None = Field(default=None, max_length=100)
    media: list[MediaIn] | None = Field(default=None, max_length=10)
    publish_at: datetime | date | None = None
    emergency: bool | None = None


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


class RejectIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

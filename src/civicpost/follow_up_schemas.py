"""Request and response shapes of an alert's follow-ups and of their wording."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from civicpost import cap
from civicpost.schemas import AlertIn, AlertText, Body, Language, Lines, Polygon, Strict

Instruction = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Lines]


class AlertChangesIn(AlertIn):
    """The alert details an update changes; each is checked as on the alert itself, the others stay."""

    event: AlertText | None = None  # type: ignore[assignment]
    category: cap.Category | None = None  # type: ignore[assignment]
    urgency: cap.Urgency | None = None  # type: ignore[assignment]
    severity: cap.Severity | None = None  # type: ignore[assignment]
    certainty: cap.Certainty | None = None  # type: ignore[assignment]
    expires: datetime | None = Field(default=None,  # type: ignore[assignment]
                                      description="when the alert now ends, with an offset; in the future")
    instruction: Instruction | None = None
    area_desc: AlertText | None = None  # type: ignore[assignment]
    polygon: Polygon | None = None
    exercise: bool | None = Field(default=None, description="cannot change: a drill stays a drill")  # type: ignore[assignment]

    @field_validator("exercise")
    @classmethod
    def _exercise(cls, value: bool | None) -> bool | None:
        if value is not None:
            raise ValueError("cannot change in an update: a drill stays a drill, and a real alert stays real")
        return value

    def changes(self) -> dict[str, Any]:
        """What to store over the alert's details (`expires` in UTC, as the alert keeps it)."""
        given = self.model_dump(exclude_none=True, exclude={"exercise", "expires"}, mode="json")
        if self.expires is not None:
            given["expires"] = self.expires.astimezone(UTC).isoformat()
        return given


class AlertUpdateIn(Strict):
    body: Body = Field(description='what has changed; posted as "UPDATE: ..." (the city\'s wording)')
    alert: AlertChangesIn | None = Field(default=None, description="alert details that change, e.g. severity, "
                                                                   "expires, instruction")
    translations: dict[Language, Body] = Field(
        default_factory=dict, max_length=30, description="the body in the alert's other languages; a language "
                                                         "without one gets the main body")


class AllClearIn(Strict):
    body: Body | None = Field(default=None, description='anything to add after "ALL CLEAR"')
    translations: dict[Language, Body] = Field(
        default_factory=dict, max_length=30, description="the body in the alert's other languages")


Template = Annotated[str, StringConstraints(max_length=1000), Field(description="text with {placeholders}")]


class WordingSet(Strict):
    update: Template | None = Field(default=None, description='default "UPDATE: {body}"')
    all_clear: Template | None = Field(default=None, description='default "ALL CLEAR: {body}"')
    correction: Template | None = Field(default=None, description='default "CORRECTION: {body}"')
    correction_body: Template | None = Field(
        default=None, description="the correction's text when a retracted alert is corrected; default "
                                  "'The alert \"{headline}\" was sent in error.'")


class AlertWordingIn(Strict):
    languages: dict[Language, WordingSet] = Field(
        max_length=30, description="per language; a missing template uses English, and English the default")

    def wording(self) -> dict[str, dict[str, str]]:
        return {language: kinds.model_dump(exclude_none=True) for language, kinds in self.languages.items()}


class AlertWordingOut(Strict):
    languages: dict[str, dict[str, str]]
    placeholders: dict[str, list[str]] = Field(description="which {names} each kind of template may use")

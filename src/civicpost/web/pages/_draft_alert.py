"""The draft form's "Alert details": CAP's fields as typed, their choices in plain words, and the API's `alert`.

The form sends what was typed to the same request model as the JSON API, so
each field is checked by the same rules; only the end time is read here first,
as a wall-clock time in the city's zone.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from civicpost.web.pages._draft_time import LocalTime, from_local_input, to_local_input

FIELDS = ("event", "category", "urgency", "severity", "certainty", "expires", "instruction", "area_desc", "polygon",
          "exercise")

# CAP 1.2's values, each with the words staff choose by.
CATEGORIES = (
    ("Geo", "Geophysical (earthquake, landslide)"), ("Met", "Weather"), ("Safety", "General public safety"),
    ("Security", "Law enforcement and security"), ("Rescue", "Rescue and recovery"),
    ("Fire", "Fire"), ("Health", "Medical and public health"), ("Env", "Pollution and environment"),
    ("Transport", "Roads and public transport"), ("Infra", "Utilities and infrastructure (water, power)"),
    ("CBRNE", "Chemical, biological, radiological, nuclear or explosive"), ("Other", "Other"),
)
URGENCIES = (
    ("Immediate", "Immediate: act now"), ("Expected", "Expected: act within the next hour"),
    ("Future", "Future: act in the near future"), ("Past", "Past: no action needed any more"),
    ("Unknown", "Unknown"),
)
SEVERITIES = (
    ("Extreme", "Extreme: extraordinary threat to life or property"), ("Severe", "Severe: significant threat"),
    ("Moderate", "Moderate: possible threat"), ("Minor", "Minor: little or no threat"), ("Unknown", "Unknown"),
)
CERTAINTIES = (
    ("Observed", "Observed: it is happening"), ("Likely", "Likely: more likely than not"),
    ("Possible", "Possible: could happen"), ("Unlikely", "Unlikely: not expected"), ("Unknown", "Unknown"),
)
CHOICES = {"category": CATEGORIES, "urgency": URGENCIES, "severity": SEVERITIES, "certainty": CERTAINTIES}

# What to ask for when a required field is left empty.
MISSING = {
    "event": "Enter the event: what is happening, in a few words.",
    "category": "Choose a category.",
    "urgency": "Choose how urgent it is.",
    "severity": "Choose how severe it is.",
    "certainty": "Choose how certain it is.",
    "expires": "Enter when the alert ends.",
    "area_desc": "Enter the area, in words.",
}
# How a field is named at the start of a message about its value.
NAMES = {"expires": "The end time", "polygon": "The polygon", "event": "The event", "area_desc": "The area",
         "instruction": "The instruction"}


@dataclass
class AlertForm:
    event: str = ""
    category: str = ""
    urgency: str = ""
    severity: str = ""
    certainty: str = ""
    expires: str = ""
    instruction: str = ""
    area_desc: str = ""
    polygon: str = ""
    exercise: bool = False
    time: LocalTime = field(default_factory=LocalTime)

    @property
    def blank(self) -> bool:
        return not self.exercise and not any(getattr(self, name).strip() for name in FIELDS if name != "exercise")

    def payload(self) -> dict[str, Any] | None:
        """The API's `alert`: None when nothing was filled in; a field left empty is left out (and reported)."""
        if self.blank:
            return None
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELDS
                                if name not in ("expires", "exercise") and getattr(self, name).strip()}
        if self.time.instant is not None:
            data["expires"] = self.time.instant
        data["exercise"] = self.exercise
        return data


def from_form(form: FormData, *, zone: ZoneInfo) -> tuple[AlertForm, str | None]:
    """The fields as typed, and what is wrong with the end time (read in the city's zone)."""
    def text(name: str) -> str:
        return str(form.get(f"alert-{name}") or "")

    alert = AlertForm(event=text("event"), category=text("category"), urgency=text("urgency"),
                      severity=text("severity"), certainty=text("certainty"), expires=text("expires"),
                      instruction=text("instruction"), area_desc=text("area_desc"), polygon=text("polygon"),
                      exercise=bool(form.get("alert-exercise")))
    alert.time = from_local_input(alert.expires, zone)
    return alert, alert.time.error


def from_row(alert: dict[str, Any] | None, *, zone: ZoneInfo) -> AlertForm:
    if not alert:
        return AlertForm()
    ends = datetime.fromisoformat(alert["expires"])

    def text(name: str) -> str:
        return str(alert.get(name) or "")

    return AlertForm(event=text("event"), category=text("category"), urgency=text("urgency"),
                     severity=text("severity"), certainty=text("certainty"), expires=to_local_input(ends, zone),
                     instruction=text("instruction"), area_desc=text("area_desc"), polygon=text("polygon"),
                     exercise=bool(alert.get("exercise")), time=LocalTime(instant=ends))


def message(name: str, kind: str, text: str) -> str:
    """A validation message about one alert field, in the form's words."""
    if kind in ("missing", "string_too_short", "literal_error") and name in MISSING:
        return MISSING[name]
    text = text.removeprefix("Value error, ")
    if kind == "value_error" and name in NAMES:
        return f"{NAMES[name]} {text}"
    return text

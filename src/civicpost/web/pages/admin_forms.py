"""What the admin forms share: refusals as per-field messages, and the channel
form's inputs per platform (SPEC §4).

Credentials are write-only: their inputs are password fields that the pages
never fill, and a page only ever says whether a key is set.
"""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from civicpost.errors import ServiceError
from civicpost.platforms import SPECS

# Pydantic's words for the common cases, in words a person acts on.
FRIENDLY: dict[str, str | dict[str, str]] = {
    "string_pattern_mismatch": {
        "slug": "Use lower-case letters, digits and hyphens, starting with a letter or digit (for example parks-rec)",
        "email": "Enter an email address such as name@city.gov",
        "departments": "Choose departments from the list",
        "department": "Choose a department from the list",
        "language": "Enter a language tag such as en, es or pt-BR",
    },
    "string_too_short": "Fill this in",
    "missing": "Fill this in",
}


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors as {form field: message}, first message per field."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        if len(loc) > 1 and loc[0] in SPECS:
            loc = loc[1:]  # the shape of one platform's channel, named first by pydantic
        name = ".".join(loc) or "form"
        found = FRIENDLY.get(err["type"])
        friendly = found.get(loc[0] if loc else "") if isinstance(found, dict) else found
        message = friendly or err["msg"].removeprefix("Value error, ")
        if err["type"] == "string_too_short" and loc and loc[0] == "password":
            message = "Use at least 12 characters"
        errors.setdefault(name, message[:1].upper() + message[1:])
    return errors


def service_errors(exc: ServiceError, *, field: str) -> dict[str, str]:
    """A service refusal as {form field: message}; without per-field errors it goes to `field`."""
    if exc.errors:
        errors: dict[str, str] = {}
        for err in exc.errors:
            message = str(err["message"])
            errors.setdefault(str(err["field"]), message[:1].upper() + message[1:])
        return errors
    return {field: exc.detail[:1].upper() + exc.detail[1:]}


@dataclass(frozen=True)
class Input:
    key: str
    label: str
    kind: str = "text"  # text, url, email, number, overflow, yesno, list
    hint: str = ""
    required: bool = False


def inputs(model: type[BaseModel]) -> list[Input]:
    """A platform's credential or setting model, as the form's inputs."""
    found = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        found.append(Input(info.alias or name, info.title or name, str(extra.get("kind", "text")),
                           info.description or "", info.is_required()))
    return found


# Read from the platforms' specs: a platform added there appears here.
# The form says what to connect ("Facebook Page"); elsewhere the platform is named as its owner writes it ("Facebook").
PLATFORM_LABELS = {name: spec.form_label for name, spec in SPECS.items()}
PLATFORM_NAMES = {name: spec.label for name, spec in SPECS.items()}
CREDENTIALS: dict[str, list[Input]] = {name: inputs(spec.credentials) for name, spec in SPECS.items()}
SETTINGS: dict[str, list[Input]] = {name: inputs(spec.settings) for name, spec in SPECS.items()}


def read(form: Any, platform: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(credentials, settings, errors) from a submitted form; empty inputs are left out."""
    credentials = read_credentials(form, platform)
    settings: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in SETTINGS.get(platform, []):
        name = f"settings.{item.key}"
        raw = str(form.get(name, "")).strip()
        if not raw:
            continue
        if item.kind == "number":
            if not re.fullmatch(r"[0-9]{1,9}", raw):  # ASCII: "²".isdigit() is true, int("²") fails
                errors[name] = "Enter a whole number, such as 500"
                continue
            settings[item.key] = int(raw)
        elif item.kind == "yesno":
            settings[item.key] = raw == "yes"
        elif item.kind == "list":
            settings[item.key] = [part for part in re.split(r"[\s,;]+", raw) if part]
        else:
            settings[item.key] = raw
    return credentials, settings, errors


def read_credentials(form: Any, platform: str) -> dict[str, str]:
    return {
        item.key: str(form.get(f"credentials.{item.key}", "")).strip()
        for item in CREDENTIALS.get(platform, [])
        if str(form.get(f"credentials.{item.key}", "")).strip()
    }


def settings_form_values(form: Any, platform: str) -> dict[str, str]:
    """What the person typed into the settings, to show again after an error."""
    return {f"settings.{i.key}": str(form.get(f"settings.{i.key}", "")) for i in SETTINGS.get(platform, [])}


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)

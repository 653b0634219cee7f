"""What the admin forms share: refusals as per-field messages, and the channel
form's inputs per platform (SPEC §4).

Credentials are write-only: their inputs are password fields that the pages
never fill, and a page only ever says whether a key is set.
"""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from civicpost import channels as channel_rules
from civicpost.errors import ServiceError

# Pydantic's words for the common cases, in words a person acts on.
FRIENDLY = {
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
        name = ".".join(loc) or "form"
        friendly = FRIENDLY.get(err["type"])
        if isinstance(friendly, dict):
            friendly = friendly.get(loc[0] if loc else "")
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


PLATFORM_LABELS = {
    "feed": "City website and feeds",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "facebook": "Facebook Page",
    "x": "X (Twitter)",
    "email": "Email list (SMTP)",
    "webhook": "Webhook",
}


@dataclass(frozen=True)
class Input:
    key: str
    label: str
    kind: str = "text"  # text, url, email, number, overflow, yesno, list
    hint: str = ""
    required: bool = False


def _api_base(default: str) -> Input:
    return Input("api_base", "API address", "url", f"Leave empty for {default}; set it to go through a gateway or the sandbox.")


def _web_base(default: str) -> Input:
    return Input("web_base", "Address where people read posts", "url",
                 f"Leave empty for {default}; the sandbox sets its own.")


OVERFLOW = Input("overflow", "When a post is too long", "overflow", "Refuse it (default) or post it as a thread.")

CREDENTIALS: dict[str, list[Input]] = {
    "x": [
        Input("consumer_key", "Consumer key (API key)", hint="OAuth 1.0a: fill in these four, or the OAuth 2.0 token below."),
        Input("consumer_secret", "Consumer secret (API key secret)"),
        Input("access_token", "Access token"),
        Input("access_token_secret", "Access token secret"),
        Input("oauth2_access_token", "OAuth 2.0 user access token"),
        Input("oauth2_refresh_token", "OAuth 2.0 refresh token"),
        Input("client_id", "OAuth 2.0 client ID"),
    ],
    "facebook": [Input("page_access_token", "Page access token", hint="A Page token, never a personal user token.", required=True)],
    "mastodon": [Input("access_token", "Access token", hint="From Preferences, Development, of the city's account.", required=True)],
    "bluesky": [
        Input("handle", "Handle", hint="For example parks.example.gov.", required=True),
        Input("app_password", "App password", hint="Made under Settings, App passwords; never the account's own password.", required=True),
    ],
    "email": [Input("username", "SMTP user name"), Input("password", "SMTP password")],
    "webhook": [Input("secret", "Signing secret", hint="The receiver checks the HMAC-SHA256 signature with it.", required=True)],
    "feed": [],
}

SETTINGS: dict[str, list[Input]] = {
    "x": [_api_base("https://api.twitter.com"), _web_base("https://x.com"), OVERFLOW],
    "facebook": [
        Input("page_id", "Page ID", required=True),
        Input("graph_version", "Graph API version", hint="For example v23.0; leave empty for the current one."),
        _api_base("https://graph.facebook.com"),
        _web_base("https://www.facebook.com"),
    ],
    "mastodon": [
        Input("api_base", "Instance address", "url", "For example https://mastodon.social.", required=True),
        Input("max_characters", "Post length limit", "number", "Leave empty: Test connection reads it from the instance (500 until then)."),
        OVERFLOW,
    ],
    "bluesky": [_api_base("https://bsky.social (without /xrpc)"), _web_base("https://bsky.app"), OVERFLOW],
    "email": [
        Input("smtp_host", "SMTP server", required=True),
        Input("smtp_port", "SMTP port", "number", "Leave empty for 587."),
        Input("starttls", "Use STARTTLS", "yesno"),
        Input("from", "From address", "email", required=True),
        Input("to", "To addresses", "list", "One or more, separated by commas or new lines.", required=True),
    ],
    "webhook": [Input("url", "Receiver address", "url", required=True)],
    "feed": [Input("url", "Public address of the city site", "url", "Leave empty for this site's own address.")],
}


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


def missing_credentials(platform: str) -> str:
    """The service's "needs {…}" in the form's own labels."""
    labels = {i.key: i.label for i in CREDENTIALS.get(platform, [])}
    options = []
    for required in channel_rules.CREDENTIALS[platform][0]:
        names = [labels.get(key, key) for key in sorted(required, key=list(labels).index)]
        if not names:
            continue
        options.append(names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    return "Fill in " + ", or ".join(options)


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)

"""Channels: accounts on platforms, their write-only credentials and their health."""

from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit, net
from civicpost.errors import Invalid, NotFound
from civicpost.models import Channel, Department, Platform, User
from civicpost.platforms import OUTBOUND_HOSTS, OUTBOUND_URLS
from civicpost.security import CredentialBox

# Per platform: credential sets that are enough (any one of them), optional
# credential keys, and the settings a channel may carry (SPEC §4).
CREDENTIALS: dict[str, tuple[list[set[str]], set[str]]] = {
    "x": (
        [
            {"consumer_key", "consumer_secret", "access_token", "access_token_secret"},
            {"oauth2_access_token"},
        ],
        {"oauth2_refresh_token", "client_id"},
    ),
    "facebook": ([{"page_access_token"}], set()),
    "mastodon": ([{"access_token"}], set()),
    "bluesky": ([{"handle", "app_password"}], set()),
    "email": ([set()], {"username", "password"}),
    "webhook": ([{"secret"}], set()),
    "feed": ([set()], set()),
}
SETTINGS: dict[str, set[str]] = {
    "x": {"api_base", "web_base", "overflow"},
    "facebook": {"api_base", "web_base", "page_id", "graph_version"},
    "mastodon": {"api_base", "max_characters", "overflow"},
    "bluesky": {"api_base", "web_base", "overflow"},
    "email": {"api_base", "smtp_host", "smtp_port", "starttls", "from", "to"},
    "webhook": {"api_base", "url"},
    "feed": {"api_base", "url"},
}
REQUIRED_SETTINGS: dict[str, set[str]] = {
    "facebook": {"page_id"},
    "mastodon": {"api_base"},
    "email": {"smtp_host", "from", "to"},
    "webhook": {"url"},
}


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def validate(platform: str, credentials: dict[str, Any], settings: dict[str, Any]) -> None:
    errors: list[dict[str, str]] = []
    sets, optional = CREDENTIALS[platform]
    given = set(credentials)
    allowed = set().union(*sets) | optional
    for key in sorted(given - allowed):
        errors.append(_problem(f"credentials.{key}", f"not a {platform} credential; allowed: {', '.join(sorted(allowed)) or 'none'}"))
    if not any(required <= given for required in sets):
        options = " or ".join("{" + ", ".join(sorted(s)) + "}" for s in sets)
        errors.append(_problem("credentials", f"{platform} needs {options}"))
    for key, value in credentials.items():
        if not isinstance(value, str) or not value.strip() or len(value) > 4096:
            errors.append(_problem(f"credentials.{key}", "must be a non-empty string of at most 4096 characters"))
    allowed_settings = SETTINGS[platform]
    for key in sorted(set(settings) - allowed_settings):
        errors.append(_problem(f"settings.{key}", f"not a {platform} setting; allowed: {', '.join(sorted(allowed_settings))}"))
    for key in sorted(REQUIRED_SETTINGS.get(platform, set()) - set(settings)):
        errors.append(_problem(f"settings.{key}", f"{platform} channels need '{key}'"))
    for key, value in settings.items():
        if not _small_value(value):
            errors.append(_problem(f"settings.{key}", "must be text of at most 2048 characters, a number, true/false, or a list of up to 100 such texts"))
    for key in ("api_base", "web_base", "url"):
        if key in settings and not _is_http_url(settings[key]):
            errors.append(_problem(f"settings.{key}", "must be an http:// or https:// URL"))
    if "overflow" in settings and settings["overflow"] not in ("refuse", "thread"):
        errors.append(_problem("settings.overflow", "must be 'refuse' or 'thread'"))
    if "max_characters" in settings and not (
        isinstance(settings["max_characters"], int) and 1 <= settings["max_characters"] <= 100_000
    ):
        errors.append(_problem("settings.max_characters", "must be a whole number from 1 to 100000"))
    if "to" in settings and not (
        isinstance(settings["to"], list) and settings["to"] and all(isinstance(a, str) and "@" in a for a in settings["to"])
    ):
        errors.append(_problem("settings.to", "must be a list of email addresses"))
    if errors:
        raise Invalid("the channel's credentials or settings are not right", errors=errors)


def check_addresses(platform: str, settings: dict[str, Any], *, allow_private_network: bool) -> None:
    """Refuse (422, per field) an address the channel would connect to that is
    not on the public internet, after resolving names (see civicpost.net).

    Called where a person gives the settings. It may look names up (at most
    net.LOOKUP_SECONDS each); the worker and "test connection" check again
    before each connection, since a name can resolve differently later.
    """
    if allow_private_network:
        return
    errors: list[dict[str, str]] = []
    checks = [(name, net.check_url, ()) for name in OUTBOUND_URLS.get(platform, ())]
    if platform in OUTBOUND_HOSTS:
        host, port = OUTBOUND_HOSTS[platform]
        checks.append((host, net.check_host, (settings[port],) if isinstance(settings.get(port), int) else ()))
    for name, check, port in checks:
        value = settings.get(name)
        if not isinstance(value, str) or not value.strip() or (check is net.check_url and not _is_http_url(value)):
            continue  # absent (the platform's own host), or validate() says what is wrong with it
        try:
            check(value, *port)
        except net.AddressRefused as exc:
            errors.append(_problem(f"settings.{name}", f"refused: {exc}"))
        except net.Unresolvable as exc:
            errors.append(_problem(f"settings.{name}", f"{exc}: check the address"))
    if errors:
        raise Invalid("the channel would connect to an address civicpost may not reach", errors=errors)


def _small_value(value: Any) -> bool:
    if isinstance(value, bool | int | float) or value is None:
        return True
    if isinstance(value, str):
        return len(value) <= 2048
    if isinstance(value, list):
        return len(value) <= 100 and all(isinstance(v, str) and len(v) <= 2048 for v in value)
    return False


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def create_channel(
    session: Session,
    *,
    actor: User | None,
    box: CredentialBox,
    department: Department,
    platform: Platform,
    name: str,
    language: str,
    credentials: dict[str, Any],
    settings: dict[str, Any],
) -> Channel:
    validate(platform, credentials, settings)
    channel = Channel(
        department_id=department.id,
        department=department,
        platform=platform,
        name=name,
        language=language,
        credentials_encrypted=box.seal(credentials) if credentials else None,
        settings=settings,
    )
    session.add(channel)
    session.flush()
    audit.record(
        session, actor=actor, action="channel.create", object_type="channel", object_id=channel.id,
        detail={"platform": str(platform), "name": name, "department": department.slug},
    )
    return channel


def replace_credentials(
    session: Session, *, actor: User | None, box: CredentialBox, channel: Channel, credentials: dict[str, Any]
) -> None:
    validate(channel.platform, credentials, channel.settings)
    channel.credentials_encrypted = box.seal(credentials) if credentials else None
    channel.needs_attention = False
    audit.record(
        session, actor=actor, action="channel.credentials_replaced", object_type="channel",
        object_id=channel.id,
    )


def get_channel(session: Session, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"no channel with id {channel_id}")
    return channel


def list_channels(session: Session, *, department_id: int | None = None) -> list[Channel]:
    query = select(Channel).order_by(Channel.id)
    if department_id is not None:
        query = query.where(Channel.department_id == department_id)
    return list(session.scalars(query))

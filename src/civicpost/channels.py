"""Channels: accounts on platforms, their write-only credentials and their health."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit, net
from civicpost.errors import Invalid, NotFound
from civicpost.models import Channel, Department, Topic, User
from civicpost.platforms import PLATFORMS, checked_fields, spec
from civicpost.security import CredentialBox


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def validate(platform: str, credentials: dict[str, Any], settings: dict[str, Any]) -> tuple[dict, dict]:
    """(credentials, settings) as the platform's spec reads them; Invalid, field by field, otherwise."""
    if platform not in PLATFORMS:
        raise Invalid(f"civicpost has no platform '{platform}'",
                      errors=[_problem("platform", f"choose one of {', '.join(sorted(PLATFORMS))}")])
    return checked_fields(platform, credentials, settings)


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
    chosen = spec(platform)
    checks: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [
        (name, net.check_url, ()) for name in chosen.outbound_urls]
    if chosen.outbound_host:
        host, port = chosen.outbound_host
        checks.append((host, net.check_host, (settings[port],) if isinstance(settings.get(port), int) else ()))
    for name, check, extra in checks:
        value = settings.get(name)
        if not isinstance(value, str) or not value.strip() or (check is net.check_url and not _is_http_url(value)):
            continue  # absent (the platform's own host), or validate() says what is wrong with it
        try:
            check(value, *extra)
        except net.AddressRefused as exc:
            errors.append(_problem(f"settings.{name}", f"refused: {exc}"))
        except net.Unresolvable as exc:
            errors.append(_problem(f"settings.{name}", f"{exc}: check the address"))
    if errors:
        raise Invalid("the channel would connect to an address civicpost may not reach", errors=errors)


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
    platform: str,
    name: str,
    language: str,
    credentials: dict[str, Any],
    settings: dict[str, Any],
    track_links: bool = False,
) -> Channel:
    credentials, settings = validate(platform, credentials, settings)
    if spec(platform).capabilities.fanout:
        _topics_exist(session, settings.get("topics") or [])
    channel = Channel(
        track_links=track_links,
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


def _topics_exist(session: Session, slugs: list[str]) -> None:
    """A channel that fans out names topics that exist: a misspelt one would reach nobody, silently."""
    known = set(session.scalars(select(Topic.slug).where(Topic.slug.in_(slugs))))
    missing = [slug for slug in slugs if slug not in known]
    if missing:
        raise Invalid("the channel's settings are not right", errors=[{
            "field": "settings.topics",
            "message": f"no topic {', '.join(repr(m) for m in missing)}: GET /api/v1/topics lists them"}])


def replace_credentials(
    session: Session, *, actor: User | None, box: CredentialBox, channel: Channel, credentials: dict[str, Any]
) -> None:
    credentials, _ = validate(channel.platform, credentials, channel.settings)
    channel.credentials_encrypted = box.seal(credentials) if credentials else None
    channel.needs_attention = False
    audit.record(
        session, actor=actor, action="channel.credentials_replaced", object_type="channel",
        object_id=channel.id,
    )


def change(session: Session, *, actor: User | None, channel: Channel, track_links: bool | None = None,
           active: bool | None = None, stale_after_days: int | None = None) -> None:
    """Turn link tracking on or off, retire a channel (inactive: offered for no new announcement) or bring it
    back, or say after how many silent days it counts as quiet."""
    changed: dict[str, bool | int] = {}
    if track_links is not None and track_links != channel.track_links:
        channel.track_links = changed["track_links"] = track_links
    if active is not None and active != channel.active:
        channel.active = changed["active"] = active
    if stale_after_days is not None and stale_after_days != channel.stale_after_days:
        channel.stale_after_days = changed["stale_after_days"] = stale_after_days
    if changed:
        session.flush()
        audit.record(session, actor=actor, action="channel.change", object_type="channel", object_id=channel.id,
                     detail=changed)


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

"""Every platform civicpost knows, found by looking: each package under
civicpost/platforms/ that exports a `SPEC`. Adding a platform adds nothing here.

Adapters are imported only when a channel of their platform is used, so a
city without Mastodon never imports Mastodon.py.
"""

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from civicpost.platforms.seam import Adapter
from civicpost.platforms.spec import PlatformSpec


def _discover() -> dict[str, PlatformSpec]:
    import civicpost.platforms as package

    found: dict[str, PlatformSpec] = {}
    for module in pkgutil.iter_modules(package.__path__):
        if not module.ispkg:
            continue
        spec = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), "SPEC", None)
        if isinstance(spec, PlatformSpec):
            if spec.name != module.name:
                raise RuntimeError(f"civicpost.platforms.{module.name} calls its platform {spec.name!r}")
            found[spec.name] = spec
    # The city's own site first, then the rest by the name people know them by.
    return dict(sorted(found.items(), key=lambda item: (not item[1].capabilities.city_site, item[1].label.lower())))


SPECS: dict[str, PlatformSpec] = _discover()
PLATFORMS: frozenset[str] = frozenset(SPECS)


class UnknownPlatform(KeyError):
    pass


def spec(name: str) -> PlatformSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownPlatform(name) from None


def where(test: Callable[[PlatformSpec], bool]) -> frozenset[str]:
    """The platforms whose spec passes `test`, e.g. where(lambda s: s.capabilities.delete)."""
    return frozenset(name for name, s in SPECS.items() if test(s))


def adapter_class(spec_: PlatformSpec) -> type:
    module, _, name = spec_.adapter.partition(":")
    return getattr(importlib.import_module(module), name)


def build_adapter(
    platform: str, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
    allow_private_network: bool,
) -> Adapter:
    """The adapter for one channel; raises UnknownPlatform for a platform civicpost does not know.

    Unless the city allows its own network, the adapter checks every host it
    connects to (AddressRefused, before any credential leaves), and the
    channel's addresses are checked here already, so a refused one fails at once.
    """
    chosen = spec(platform)
    guard = None
    if not allow_private_network:
        from civicpost.platforms.guard import AddressGuard

        guard = AddressGuard()
        for name in chosen.outbound_urls:
            if settings.get(name):
                guard.check_url(str(settings[name]))
        if chosen.outbound_host and settings.get(chosen.outbound_host[0]):
            host, port = chosen.outbound_host
            guard.check_host(str(settings[host]), _port(settings.get(port)))
    adapter: Adapter = adapter_class(chosen)(credentials, settings, timeout=timeout, guard=guard)
    return adapter


def _port(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def field_errors(exc: ValidationError, prefix: str) -> list[dict[str, str]]:
    """A model's validation errors as civicpost's per-field problems ("settings.page_id": "...")."""
    errors = []
    for error in exc.errors():
        where_ = ".".join(str(part) for part in error["loc"] if part != "__root__")
        if error["type"] == "extra_forbidden":
            message = "is not a field of this platform; remove it"
        elif error["type"] == "missing":
            message = "is required for this platform"
        else:
            message = error["msg"].removeprefix("Value error, ")
        errors.append({"field": f"{prefix}.{where_}" if where_ else prefix, "message": message})
    return errors


def checked_fields(platform: str, credentials: dict[str, Any], settings: dict[str, Any]) -> tuple[dict, dict]:
    """(credentials, settings) as the platform's models read them, or
    ValueError-free per-field problems raised as civicpost.errors.Invalid."""
    from civicpost.errors import Invalid

    chosen = spec(platform)
    errors: list[dict[str, str]] = []
    clean: list[dict[str, Any]] = []
    parts = ((chosen.credentials, credentials, "credentials"), (chosen.settings, settings, "settings"))
    for model, given, prefix in parts:
        try:
            clean.append(model.model_validate(given).model_dump(exclude_none=True))
        except ValidationError as exc:
            errors += field_errors(exc, prefix)
    if errors:
        raise Invalid("the channel's credentials or settings are not right", errors=errors)
    return clean[0], clean[1]

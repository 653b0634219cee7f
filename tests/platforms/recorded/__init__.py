"""The recorded answers of every platform, one module each: recorded/<platform>.py
defines one `Recorded` subclass (README.md says what it provides). They are
found by looking, as civicpost finds its platforms: adding one changes nothing here."""

import importlib
import pkgutil

from ._base import CASES, LATE_S, SHORT_TIMEOUT, TIMEOUT, Post, Recorded, no_such_answer


def _discover() -> dict[str, type[Recorded]]:
    found: dict[str, type[Recorded]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        classes = [
            value for value in vars(loaded).values()
            if isinstance(value, type) and issubclass(value, Recorded) and value.__module__ == loaded.__name__
        ]
        if len(classes) != 1:
            raise RuntimeError(f"{loaded.__name__} must define one Recorded class, not {len(classes)}")
        if classes[0].platform != module.name:
            raise RuntimeError(f"{loaded.__name__} records {classes[0].platform!r}, not {module.name!r}")
        found[module.name] = classes[0]
    return found


RECORDED: dict[str, type[Recorded]] = _discover()

__all__ = ["CASES", "LATE_S", "RECORDED", "SHORT_TIMEOUT", "TIMEOUT", "Post", "Recorded", "no_such_answer"]

"""The words of a notification, from templates/notifications/ (never a secret, never a stack trace)."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from civicpost.config import Settings
from civicpost.notifications.claims import Message
from civicpost.web.dates import human

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Words:
    subject: str
    text: str


class Wording:
    def __init__(self, settings: Settings) -> None:
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(settings.templates_dir / "notifications"), autoescape=False,
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self._base = settings.base_url.rstrip("/")
        self._city = settings.city_name
        zone = settings.zone
        # Moments kept in a row's facts as ISO text, written in the city's one format.
        self._env.filters["when"] = lambda text: human(datetime.fromisoformat(text), zone) if text else ""

    def mail(self, message: Message) -> Words:
        name = "waiting_digest" if message.digest else message.event
        first, _, rest = self._render(f"{name}.txt.j2", message).partition("\n")
        subject = _SPACE.sub(" ", first.removeprefix("Subject:")).strip()[:200]
        return Words(subject=subject, text=rest.lstrip("\n"))

    def hook(self, message: Message) -> str:
        return self._render("hook.txt.j2", message).strip()

    def _render(self, template: str, message: Message) -> str:
        items = [{**item, "link": self._link(item)} for item in message.items]
        context: dict[str, Any] = {"event": message.event, "items": items, "item": items[0], "name": message.name,
                                   "city_name": self._city, "staff_url": f"{self._base}/staff/",
                                   "account_url": f"{self._base}/staff/account"}
        return self._env.get_template(template).render(context)

    def _link(self, item: dict[str, Any]) -> str:
        if item.get("suspension_id"):
            return f"{self._base}/staff/suspensions#suspension-{item['suspension_id']}"
        if item.get("announcement_id"):
            return f"{self._base}/staff/announcements/{item['announcement_id']}"
        return f"{self._base}/staff/channels"

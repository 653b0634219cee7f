"""The announcement form as data: parsed from a request, filled from a row, turned into
the API's request body (or a draft to preview), and errors tied to the form field they are about."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from civicpost.drafting.previews import Unsaved
from civicpost.errors import ServiceError
from civicpost.models import Announcement
from civicpost.schemas import parse_id
from civicpost.web.pages import _draft_alert
from civicpost.web.pages._draft_alert import AlertForm
from civicpost.web.pages._draft_time import LocalTime, from_local_input, to_local_input

# Without JavaScript the form offers this many empty translation blocks.
EMPTY_TRANSLATION_BLOCKS = 2
MAX_TRANSLATIONS = 30
# An announcement takes at most 10 images (schemas.AnnouncementIn); more ticks than that are not read.
MAX_LIBRARY = 10
# ASCII digits only ([0-9], not \d): the numbers in field names become ints.
_TRANSLATION = re.compile(r"^translations-([0-9]{1,3})-(language|title|body)$")
_MEDIA = re.compile(r"^media-([0-9]{1,2})-(id|alt|remove)$")
_OVERRIDE = re.compile(r"^override-([1-9][0-9]{0,17})$")

WHAT = {
    "title": "a title",
    "body": "the text of the announcement",
    "language": "a language tag such as en",
    "department": "a department",
}


@dataclass
class DraftForm:
    """What the person typed (kept as typed, so an error page shows it back) and what is wrong with it."""

    department: str = ""
    title: str = ""
    body: str = ""
    link: str = ""
    language: str = "en"
    publish_at: str = ""
    # The event it announces (all optional), as typed in the city's zone.
    event_start: str = ""
    event_end: str = ""
    location: str = ""
    event_times: tuple[LocalTime, LocalTime] = (LocalTime(), LocalTime())
    emergency: bool = False
    channels: list[int] = field(default_factory=list)
    overrides: dict[int, str] = field(default_factory=dict)
    translations: list[dict[str, str]] = field(default_factory=list)
    media: list[dict[str, str]] = field(default_factory=list)
    # Ids ticked in the media library list, attached with their stored alt text (_draft_page.attach_library).
    library: list[str] = field(default_factory=list)
    image_alt: str = ""
    upload: UploadFile | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    time: LocalTime = field(default_factory=LocalTime)
    # Every image decode place was taken: the page answers 503 with the form as typed.
    busy: bool = False
    alert: AlertForm = field(default_factory=AlertForm)
    # Only someone who may flag an emergency sees the alert details, so only they change them.
    alert_editable: bool = False

    def add_error(self, field_id: str | None, message: str) -> None:
        if field_id is None:
            self.general.append(message)
        else:
            self.errors.setdefault(field_id, []).append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    @property
    def summary(self) -> list[tuple[str | None, str]]:
        """Messages in the order of the fields on the page, so the list reads like the form."""
        ordered = sorted(self.errors.items(), key=lambda item: _page_position(item[0]))
        return [(None, m) for m in self.general] + [(f, m) for f, ms in ordered for m in ms]

    @property
    def translation_blocks(self) -> list[dict[str, str]]:
        empty = max(1, EMPTY_TRANSLATION_BLOCKS - len(self.translations))
        blocks = self.translations + [{"language": "", "title": "", "body": ""} for _ in range(empty)]
        return blocks[:MAX_TRANSLATIONS]

    def language_index(self) -> dict[str, int]:
        return {t["language"].strip(): n for n, t in enumerate(self.translations)}

    def payload(self, *, with_department: bool = True) -> dict[str, Any]:
        """The JSON API's request body for this form (AnnouncementIn, or a full AnnouncementPatch)."""
        data: dict[str, Any] = {
            "title": self.title,
            "body": self.body,
            "link": self.link.strip() or None,
            "language": self.language.strip(),
            "translations": {
                t["language"].strip(): {"title": t["title"], "body": t["body"]} for t in self.translations
            },
            "channels": self.channels,
            "overrides": {str(cid): text for cid, text in self.overrides.items() if cid in self.channels},
            "media": [{"id": m["id"], "alt_text": m["alt_text"]} for m in self.media],
            "publish_at": self.time.instant,
            "emergency": self.emergency,
            "event_start": self.event_times[0].instant,
            "event_end": self.event_times[1].instant,
            "location": self.location.strip() or None,
        }
        if self.alert_editable:
            data["alert"] = self.alert.payload()
        if with_department:
            data["department"] = self.department
        return data

    def unsaved(self) -> Unsaved:
        """The form as it stands, for a preview: tidied, not validated (half-written drafts are previewed too)."""
        return Unsaved(
            department=self.department,
            title=self.title.strip(),
            body=self.body.strip(),
            language=self.language.strip() or "en",
            link=self.link.strip() or None,
            translations={
                t["language"].strip(): (t["title"].strip(), t["body"].strip())
                for t in self.translations
                if t["language"].strip()
            },
            media=[(m["id"], m["alt_text"]) for m in self.media],
            channels=self.channels,
            overrides={str(cid): text for cid, text in self.overrides.items()},
            emergency=self.emergency,
            publish_at=self.time.instant,
        )

    def take_validation_error(self, error: ValidationError) -> None:
        for item in error.errors():
            loc = tuple(item["loc"])
            if loc[:1] == ("alert",) and len(loc) > 1:
                self.add_error(self.field_for(loc), _draft_alert.message(str(loc[1]), item["type"], item["msg"]))
            else:
                self.add_error(self.field_for(loc), friendly(item))

    def take_service_error(self, error: ServiceError) -> None:
        if not error.errors:
            self.add_error(None, error.detail)
            return
        for item in error.errors:
            loc = tuple(int(p) if p.isascii() and p.isdigit() else p for p in str(item.get("field", "")).split("."))
            message = str(item.get("message") or error.detail)
            if message in error.detail:
                message = error.detail.replace("publish_at", "the publish time")
            elif message[:1].islower():
                message = f"{error.detail}: {message}"
            if item.get("suggestion"):
                message = f"{message} {item['suggestion']}"
            self.add_error(self.field_for(loc), _sentence(message))

    def field_for(self, loc: tuple) -> str | None:
        head = loc[0] if loc else None
        if head in ("title", "body", "link", "language", "department", "emergency", "publish_at", "channels",
                    "event_start", "event_end", "location"):
            return str(head)
        if head == "translations":
            index = self.language_index().get(str(loc[1]), 0) if len(loc) > 1 else 0
            part = loc[2] if len(loc) > 2 and loc[2] in ("title", "body") else "language"
            return f"translations-{index}-{part}" if self.translations else None
        if head == "overrides":
            return f"override-{loc[1]}" if len(loc) > 1 and parse_id(str(loc[1])) is not None else "channels"
        if head == "media":
            return f"media-{loc[1]}-alt" if len(loc) > 1 and isinstance(loc[1], int) else "images"
        if head == "alert":
            return f"alert-{loc[1]}" if len(loc) > 1 and loc[1] in _draft_alert.FIELDS else "emergency"
        return None


PAGE_ORDER = ("department", "title", "body", "link", "language", "translations", "channels", "override", "images",
              "media", "library", "image_file", "image_alt", "publish_at", "event_start", "event_end", "location",
              "emergency", "alert")


def _page_position(field_id: str) -> tuple[int, int, str]:
    head, _, rest = field_id.partition("-")
    number = rest.split("-")[0]
    rank = PAGE_ORDER.index(head) if head in PAGE_ORDER else len(PAGE_ORDER)
    return rank, int(number) if number.isascii() and number.isdigit() else 0, field_id


def _sentence(message: str) -> str:
    message = message[0].upper() + message[1:] if message else message
    return message if message.endswith((".", "!", "?")) else message + "."


def friendly(item: Mapping[str, Any]) -> str:
    loc = tuple(item["loc"])
    name = str(loc[-1]) if loc else ""
    kind = item["type"]
    ctx = item.get("ctx") or {}
    if kind in ("missing", "string_too_short", "string_type") and name in WHAT:
        return f"Enter {WHAT[name]}."
    if kind == "string_too_short":
        return "This cannot be empty."
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        if name == "link":
            return "Enter a full web address, such as https://city.example/pools."
        if name in ("language", "[key]"):
            return "Use a language tag such as en, es or pt-BR."
        return "This is not in the expected form."
    message = str(item["msg"]).removeprefix("Value error, ")
    return _sentence(message)


def from_form(form: FormData, *, zone: ZoneInfo, alerts: bool = False) -> DraftForm:
    """`alerts`: the person may flag an emergency, so the alert details they send are read."""
    def text(name: str) -> str:
        return str(form.get(name) or "")

    draft = DraftForm(
        department=text("department"),
        title=text("title"),
        body=text("body"),
        link=text("link"),
        language=text("language"),
        publish_at=text("publish_at"),
        event_start=text("event_start"),
        event_end=text("event_end"),
        location=text("location"),
        emergency=bool(form.get("emergency")),
        image_alt=text("image_alt"),
    )
    # A channel box sends an id; anything else (a tampered value such as "²" or 2^64) names no channel.
    ids = (parse_id(v) if isinstance(v, str) else None for v in form.getlist("channels"))
    draft.channels = list(dict.fromkeys(i for i in ids if i is not None))
    blocks: dict[int, dict[str, str]] = {}
    kept: dict[int, dict[str, str]] = {}
    for key in form.keys():
        if match := _TRANSLATION.match(key):
            blocks.setdefault(int(match[1]), {"language": "", "title": "", "body": ""})[match[2]] = text(key)
        elif match := _MEDIA.match(key):
            kept.setdefault(int(match[1]), {"id": "", "alt": "", "remove": ""})[match[2]] = text(key)
        elif (match := _OVERRIDE.match(key)) and text(key).strip():
            draft.overrides[int(match[1])] = text(key)
    draft.translations = [b for _, b in sorted(blocks.items()) if any(v.strip() for v in b.values())]
    draft.media = [
        {"id": m["id"], "alt_text": m["alt"]} for _, m in sorted(kept.items()) if m["id"] and not m["remove"]
    ]
    draft.library = list(dict.fromkeys(v for v in form.getlist("library") if isinstance(v, str) and v))[:MAX_LIBRARY]
    upload = form.get("image_file")
    if isinstance(upload, UploadFile) and upload.filename:
        draft.upload = upload
    _check_translations(draft)
    draft.time = from_local_input(draft.publish_at, zone)
    if draft.time.error:
        draft.add_error("publish_at", draft.time.error)
    draft.event_times = (from_local_input(draft.event_start, zone), from_local_input(draft.event_end, zone))
    for name, moment in zip(("event_start", "event_end"), draft.event_times, strict=True):
        if moment.error:
            draft.add_error(name, moment.error)
    if alerts:
        draft.alert_editable = True
        draft.alert, expires_error = _draft_alert.from_form(form, zone=zone)
        if expires_error:
            draft.add_error("alert-expires", expires_error)
        if not draft.emergency and not draft.alert.blank:
            draft.add_error("emergency", "Alert details are only for an emergency: tick Emergency, or empty the "
                                         "alert details.")
    return draft


def _check_translations(draft: DraftForm) -> None:
    seen: set[str] = set()
    for n, block in enumerate(draft.translations):
        language = block["language"].strip()
        if not language:
            draft.add_error(f"translations-{n}-language", "Enter the language of this translation, such as es.")
        elif language in seen:
            draft.add_error(f"translations-{n}-language", f"There is already a translation in '{language}'.")
        seen.add(language)


def from_announcement(announcement: Announcement, *, zone: ZoneInfo, alerts: bool = False) -> DraftForm:
    return DraftForm(
        alert=_draft_alert.from_row(announcement.alert, zone=zone),
        alert_editable=alerts,
        department=announcement.department.slug,
        title=announcement.title,
        body=announcement.body,
        link=announcement.link or "",
        language=announcement.language,
        publish_at=to_local_input(announcement.publish_at, zone),
        event_start=to_local_input(announcement.event_start, zone),
        event_end=to_local_input(announcement.event_end, zone),
        location=announcement.location or "",
        event_times=(LocalTime(instant=announcement.event_start), LocalTime(instant=announcement.event_end)),
        emergency=announcement.emergency,
        channels=[t.channel_id for t in announcement.targets],
        overrides={t.channel_id: t.override_text for t in announcement.targets if t.override_text is not None},
        translations=[{"language": t.language, "title": t.title, "body": t.body} for t in announcement.translations],
        media=[{"id": m.media_id, "alt_text": m.alt_text} for m in announcement.media],
        time=LocalTime(instant=announcement.publish_at),
    )

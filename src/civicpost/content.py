"""What rendering takes and gives: plain values, so a preview needs no database rows."""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True)
class MediaRef:
    id: str
    alt_text: str
    mime_type: str = "image/jpeg"
    size_bytes: int = 0
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Draft:
    """An announcement's content, from a stored row or from a preview request."""

    title: str
    body: str
    department: str
    language: str = "en"
    link: str | None = None
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (title, body)
    media: list[MediaRef] = field(default_factory=list)
    emergency: bool = False
    publish_at: datetime | None = None
    announcement_id: int | None = None

    def wording(self, language: str) -> tuple[str, str] | None:
        """(title, body) in `language`, or None when there is no such translation."""
        if language == self.language:
            return self.title, self.body
        return self.translations.get(language)


@dataclass(frozen=True)
class ChannelView:
    id: int
    platform: str
    name: str
    language: str = "en"
    settings: dict[str, Any] = field(default_factory=dict)
    override: str | None = None
    # The link this channel sends instead of the announcement's own (a tracked /r/ address).
    link: str | None = None


@dataclass(frozen=True)
class Problem:
    code: str
    severity: Literal["error", "warning"]
    message: str
    suggestion: str | None = None


@dataclass
class Rendition:
    channel_id: int
    platform: str
    language: str
    text: str
    length: int
    limit: int | None
    fits: bool
    parts: list[str] | None = None
    media: list[MediaRef] = field(default_factory=list)
    # Other rendered pieces: email subject/html, feed html, webhook json.
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def payload(self) -> dict[str, Any]:
        """Exactly what the channel will receive; this is what approval signs."""
        return {
            "channel_id": self.channel_id,
            "platform": self.platform,
            "language": self.language,
            "text": self.text,
            "parts": self.parts,
            "media": [{"id": m.id, "alt_text": m.alt_text} for m in self.media],
            "extra": self.extra,
        }

    def as_dict(self) -> dict[str, Any]:
        data = self.payload()
        data.update(
            length=self.length,
            limit=self.limit,
            fits=self.fits,
            problems=[asdict(p) for p in self.problems],
        )
        return data


def fingerprint(
    renditions: list[Rendition], *, publish_at: datetime | None = None, alert: dict[str, Any] | None = None
) -> str:
    """SHA-256 over the exact renditions (and the time they go out, and an emergency's alert details)."""
    doc: dict[str, Any] = {
        "renditions": sorted((r.payload() for r in renditions), key=lambda p: p["channel_id"]),
        "publish_at": publish_at.isoformat() if publish_at else None,
    }
    if alert is not None:  # only then: fingerprints signed before alerts existed stay the same
        doc["alert"] = alert
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()

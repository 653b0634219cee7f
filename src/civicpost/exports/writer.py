"""Writing one export: the announcements created in a date range (the city's days, both
ends included), optionally of one department, read in id batches and each file streamed
into the bag as it is made, so memory stays flat however many announcements there are."""

import csv
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.exports import records, signing
from civicpost.exports.bag import CHUNK, BagWriter
from civicpost.models import Announcement

BATCH = 200


@dataclass(frozen=True)
class Scope:
    date_from: date
    date_to: date
    # The department's id and slug; None: every department.
    department_id: int | None = None
    department_slug: str | None = None
    # Residents' addresses and consent records too: only when an admin asks (civicpost.subscribers.export).
    subscribers: bool = False

    def bounds(self, settings: Settings) -> tuple[datetime, datetime]:
        """The first instant of `date_from` and the first instant after `date_to`, in the city's zone."""
        start = datetime.combine(self.date_from, time(), settings.zone)
        end = datetime.combine(self.date_to + timedelta(days=1), time(), settings.zone)
        return start, end

    def describe(self) -> str:
        where = f" of department {self.department_slug}" if self.department_slug else ""
        return f"announcements{where} created from {self.date_from} to {self.date_to}"


@dataclass(frozen=True)
class Written:
    path: Path
    announcements: int
    payload_files: int
    size_bytes: int


def count(session: Session, scope: Scope, settings: Settings) -> int:
    return session.scalar(select(func.count()).select_from(Announcement).where(*_where(scope, settings))) or 0


def _where(scope: Scope, settings: Settings) -> list[Any]:
    start, end = scope.bounds(settings)
    found = [Announcement.created_at >= start, Announcement.created_at < end]
    if scope.department_id is not None:
        found.append(Announcement.department_id == scope.department_id)
    return found


def write(sessions: sessionmaker[Session], settings: Settings, *, scope: Scope, out: Path, exported_by: str,
          progress: Callable[[int, int], None] | None = None) -> Written:
    """Write the signed bag to `out` (only a whole bag ever appears there); `progress(done, total)`
    is called after each batch. Each batch is read in a session of its own, then let go."""
    key = signing.private_key(settings)
    with sessions() as session:
        total = count(session, scope, settings)
    page = _page(settings)
    exported_at = utcnow().astimezone(settings.zone).isoformat(timespec="seconds")
    out.parent.mkdir(parents=True, exist_ok=True)
    bag = BagWriter(out, scratch_dir=out.parent)
    done, last_id = 0, 0
    try:
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=out.parent) as index:
            rows = csv.writer(index)
            rows.writerow(records.INDEX_HEADER)
            while True:
                with sessions() as session:
                    ids = list(session.scalars(select(Announcement.id).where(*_where(scope, settings),
                                                                             Announcement.id > last_id)
                                               .order_by(Announcement.id).limit(BATCH)))
                    if not ids:
                        break
                    batch = records.read_batch(session, ids)
                    for announcement in batch.announcements:
                        data = _write_announcement(bag, batch, announcement, settings=settings, page=page,
                                                   exported_at=exported_at)
                        rows.writerow(records.index_row(data))
                last_id, done = ids[-1], done + len(ids)
                if progress:
                    progress(done, max(total, done))
            index.flush()
            index.seek(0)
            bag.add_text_stream("index.csv", index)
        if scope.subscribers:
            from civicpost.subscribers import export as subscriber_export
            from civicpost.subscribers.crypto import SubscriberBox

            with sessions() as session:
                box = SubscriberBox(settings.fernet_key())
                bag.add_bytes("subscribers.csv", subscriber_export.subscribers_csv(session, box).encode())
                bag.add_bytes("subscriber_consents.csv", subscriber_export.consents_csv(session).encode())
        info = {
            "Source-Organization": settings.city_name,
            "External-Description": f"{settings.city_name}: {scope.describe()}, with every version, approval, "
                                    "delivery, comment and audit event",
            "Bagging-Date": utcnow().astimezone(settings.zone).date().isoformat(),
            "Bag-Software-Agent": f"civicpost {version('civicpost')}",
            "Export-Date-From": scope.date_from.isoformat(),
            "Export-Date-To": scope.date_to.isoformat(),
            "Export-Department": scope.department_slug or "all",
            "Export-Announcements": str(done),
            **({"Export-Subscribers": "yes: subscribers.csv and subscriber_consents.csv"}
               if scope.subscribers else {}),
            "Exported-By": exported_by,
            "Exported-At": exported_at,
            "Signature": "tagmanifest-sha256.txt.sig: Ed25519 over tagmanifest-sha256.txt; public key at "
                         f"{settings.base_url.rstrip('/')}/.well-known/civicpost-export.pub",
        }
        bag.close(info=info, key=key)
    except BaseException:
        bag.abandon()
        raise
    return Written(out, done, bag.payload_files, out.stat().st_size)


def _write_announcement(bag: BagWriter, batch: records.Batch, announcement: Announcement, *, settings: Settings,
                        page: Any, exported_at: str) -> dict[str, Any]:
    folder = f"announcements/{announcement.id}"
    media_files: dict[str, str] = {}
    for item in announcement.media:
        source = Path(settings.media_dir) / item.media_id
        if item.media_id in media_files or not source.is_file():
            continue
        name = records.media_name(_sha256(source), item.file.mime_type)
        if name not in media_files.values():
            bag.add_file(f"{folder}/media/{name}", source)
        media_files[item.media_id] = name
    data = records.record(batch, announcement, media_files=media_files)
    bag.add_bytes(f"{folder}/record.json", json.dumps(data, ensure_ascii=False, indent=2).encode())
    html = page.render(r=data, city=settings.city_name, exported_at=exported_at)
    bag.add_bytes(f"{folder}/record.html", html.encode())
    return data


def _page(settings: Settings) -> Any:
    env = ImmutableSandboxedEnvironment(loader=FileSystemLoader(Path(settings.templates_dir) / "export"),
                                        autoescape=select_autoescape(default=True), keep_trailing_newline=True)
    return env.get_template("record.html.j2")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

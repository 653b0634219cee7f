"""What one announcement's record says in an export: every version, who submitted, approved
and reviewed it, its audit events and comments, every delivery with its remote id and times,
its media with alt text, and residents' replies. Read a batch of announcements at a time."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.models import Announcement, AnnouncementVersion, AuditEvent, Comment, Delivery, Reply, User

# Audit actions that name the people in a record's summary.
SUBMITTED = "submit"
APPROVED = "approve"
REVIEWS = ("approve", "reject", "break_glass_reviewed")
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


@dataclass
class Batch:
    """Everything the records of some announcements need, read in a few queries."""

    announcements: list[Announcement]
    versions: dict[int, list[AnnouncementVersion]] = field(default_factory=lambda: defaultdict(list))
    comments: dict[int, list[Comment]] = field(default_factory=lambda: defaultdict(list))
    deliveries: dict[int, list[Delivery]] = field(default_factory=lambda: defaultdict(list))
    events: dict[int, list[AuditEvent]] = field(default_factory=lambda: defaultdict(list))
    replies: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def read_batch(session: Session, ids: Sequence[int]) -> Batch:
    batch = Batch(list(session.scalars(select(Announcement).where(Announcement.id.in_(ids))
                                       .order_by(Announcement.id))))
    for version in session.scalars(select(AnnouncementVersion).where(AnnouncementVersion.announcement_id.in_(ids))
                                   .order_by(AnnouncementVersion.announcement_id, AnnouncementVersion.number)):
        batch.versions[version.announcement_id].append(version)
    for comment in session.scalars(select(Comment).where(Comment.announcement_id.in_(ids)).order_by(Comment.id)):
        batch.comments[comment.announcement_id].append(comment)
    for delivery in session.scalars(select(Delivery).where(Delivery.announcement_id.in_(ids)).order_by(Delivery.id)):
        batch.deliveries[delivery.announcement_id].append(delivery)
    for event in session.scalars(select(AuditEvent).where(AuditEvent.object_type == "announcement",
                                                          AuditEvent.object_id.in_(ids)).order_by(AuditEvent.id)):
        batch.events[event.object_id].append(event)
    batch.replies = replies_of(session, ids)
    return batch


def replies_of(session: Session, announcement_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Residents' replies to each announcement's posts, by announcement id, oldest first, with
    what was hidden or removed on the platform, by whom and why."""
    found: dict[int, list[dict[str, Any]]] = {}
    rows = list(session.scalars(select(Reply).where(Reply.announcement_id.in_(list(announcement_ids)))
                                .order_by(Reply.announcement_id, Reply.created_at, Reply.id)))
    people = {i for r in rows for i in (r.hidden_by, r.removed_by) if i is not None}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(people))).all())
    for r in rows:
        found.setdefault(r.announcement_id, []).append({
            "id": r.id, "delivery_id": r.delivery_id, "platform": r.platform, "remote_id": r.remote_id,
            "author_handle": r.author_handle, "author_name": r.author_name, "created_at": _at(r.created_at),
            "text": r.text, "url": r.url, "first_seen_at": _at(r.first_seen_at),
            "hidden_at": _at(r.hidden_at), "hidden_by": emails.get(r.hidden_by) if r.hidden_by else None,
            "hide_reason": r.hide_reason, "removed_at": _at(r.removed_at),
            "removed_by": emails.get(r.removed_by) if r.removed_by else None, "remove_reason": r.remove_reason})
    return found


def media_name(sha256: str, mime_type: str) -> str:
    return f"{sha256}.{EXTENSIONS.get(mime_type, 'bin')}"


def record(batch: Batch, announcement: Announcement, *, media_files: dict[str, str]) -> dict[str, Any]:
    """The record as JSON; `media_files` maps each media id to its file name under media/."""
    a = announcement
    events = batch.events[a.id]
    return {
        "id": a.id,
        "title": a.title,
        "state": a.state,
        "department": {"slug": a.department.slug, "name": a.department.name},
        "author": _person(a.author.email, a.author.name),
        "created_at": _at(a.created_at),
        "updated_at": _at(a.updated_at),
        "emergency": a.emergency,
        "legal_hold": a.legal_hold,
        "legal_hold_reason": a.legal_hold_reason,
        "submitted_by": [_event_person(e) for e in events if e.action == SUBMITTED],
        "approvers": [{**_event_person(e), "fingerprint": e.fingerprint} for e in events if e.action == APPROVED],
        "approved_fingerprint": a.approved_fingerprint,
        "reviews": [{**_event_person(e), "action": e.action, "fingerprint": e.fingerprint, "detail": e.detail}
                    for e in events if e.action in REVIEWS],
        "rejection_reason": a.rejection_reason,
        "retracted_at": _at(a.retracted_at),
        "retraction_reason": a.retraction_reason,
        "notice_withdrawn_at": _at(a.notice_withdrawn_at),
        "follows": a.follows_id,
        "follow_kind": a.follow_kind,
        "versions": [{"number": v.number, "created_at": _at(v.created_at),
                      "author": _person(v.author.email, v.author.name) if v.author else None,
                      "reason": v.reason, "fingerprint": v.fingerprint, "content": v.content}
                     for v in batch.versions[a.id]],
        "media": [{"id": m.media_id, "file": f"media/{media_files[m.media_id]}" if m.media_id in media_files else None,
                   "alt_text": m.alt_text, "mime_type": m.file.mime_type, "width": m.file.width,
                   "height": m.file.height} for m in a.media],
        "deliveries": [_delivery(d) for d in batch.deliveries[a.id]],
        "comments": [{"id": c.id, "author": _person(c.author.email, c.author.name), "at": _at(c.created_at),
                      "body": c.body} for c in batch.comments[a.id]],
        "audit_events": [{"id": e.id, "at": _at(e.at), "actor": e.actor, "action": e.action,
                          "fingerprint": e.fingerprint, "detail": e.detail} for e in events],
        "replies": batch.replies.get(a.id, []),
    }


def index_row(data: dict[str, Any]) -> list[str]:
    published = [d["published_at"] for d in data["deliveries"] if d["published_at"]]
    retracted = [d["retracted_at"] for d in data["deliveries"] if d["retracted_at"]]
    return [str(data["id"]), data["department"]["slug"], data["state"], data["title"], data["author"]["email"],
            data["created_at"] or "", min(published, default=""), max(retracted, default=""),
            str(len(data["versions"])), str(len(data["deliveries"])), str(len(data["replies"])),
            f"announcements/{data['id']}/record.json"]


INDEX_HEADER = ["id", "department", "state", "title", "author", "created_at", "first_published_at",
                "last_retracted_at", "versions", "deliveries", "replies", "record"]


def _delivery(d: Delivery) -> dict[str, Any]:
    return {"id": d.id, "channel": {"id": d.channel_id, "name": d.channel.name, "platform": d.channel.platform},
            "status": d.status, "fingerprint": d.fingerprint, "remote_id": d.remote_id, "remote_url": d.remote_url,
            "attempts": d.attempts, "last_error": d.last_error, "due_at": _at(d.due_at),
            "published_at": _at(d.published_at), "retract_requested_at": _at(d.retract_requested_at),
            "retracted_at": _at(d.retracted_at), "remote_deleted_at": _at(d.remote_deleted_at),
            "rendition": d.rendition}


def _person(email: str, name: str | None) -> dict[str, Any]:
    return {"email": email, "name": name}


def _event_person(e: AuditEvent) -> dict[str, Any]:
    return {"actor": e.actor, "at": _at(e.at)}


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None

"""What changed since the last approved version, per channel.

An edit after approval voids the approval and cancels its deliveries; those
deliveries keep the exact approved rendition of each channel, so the approved
text is read from them rather than from a separate snapshot.
"""

import difflib
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.drafting.previews import Card
from civicpost.models import Announcement, AuditEvent, Delivery

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass
class ChannelChange:
    name: str
    status: str  # changed | unchanged | added | removed
    segments: list[tuple[str, str]] = field(default_factory=list)  # (equal | insert | delete, text)


def approved_texts(session: Session, announcement: Announcement) -> dict[int, tuple[str, str]] | None:
    """Channel id -> (channel name, text last approved), or None when no approval was ever voided."""
    voided = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.object_type == "announcement", AuditEvent.object_id == announcement.id,
               AuditEvent.action == "approval_voided", AuditEvent.fingerprint.is_not(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if voided is None:
        return None
    rows = session.scalars(
        select(Delivery).where(Delivery.announcement_id == announcement.id, Delivery.fingerprint == voided.fingerprint)
    )
    return {d.channel_id: (d.channel.name, str((d.rendition or {}).get("text", ""))) for d in rows}


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level segments; a change spanning several words reads as one removal and one addition."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    segments: list[tuple[str, str]] = []
    removed: list[str] = []
    added: list[str] = []
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        between_changes = 0 < n < len(opcodes) - 1 and not "".join(a[i1:i2]).strip()
        if op != "equal" or (between_changes and (removed or added)):
            removed += a[i1:i2]
            added += b[j1:j2]
            continue
        _flush(segments, removed, added)
        segments.append(("equal", "".join(a[i1:i2])))
    _flush(segments, removed, added)
    return segments


def _flush(segments: list[tuple[str, str]], removed: list[str], added: list[str]) -> None:
    if removed:
        segments.append(("delete", "".join(removed)))
    if added:
        segments.append(("insert", "".join(added)))
    removed.clear()
    added.clear()


def changes_since_approval(
    session: Session, announcement: Announcement, cards: list[Card]
) -> list[ChannelChange] | None:
    before = approved_texts(session, announcement)
    if before is None:
        return None
    result = []
    for card in cards:
        if card.channel_id not in before:
            result.append(ChannelChange(card.name, "added", [("insert", card.r["text"])]))
            continue
        old, new = before[card.channel_id][1], card.r["text"]
        result.append(ChannelChange(card.name, "unchanged" if old == new else "changed", word_diff(old, new)))
    current = {c.channel_id for c in cards}
    for channel_id, (name, text) in before.items():
        if channel_id not in current:
            result.append(ChannelChange(name, "removed", [("delete", text)]))
    return result

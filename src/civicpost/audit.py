"""The append-only record of who did what."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.models import AuditEvent, User

WORKER = "worker"


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int,
    fingerprint: str | None = None,
    detail: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor=actor.email if actor else (actor_label or WORKER),
        action=action,
        object_type=object_type,
        object_id=object_id,
        fingerprint=fingerprint,
        detail=detail,
    )
    session.add(event)
    return event


def trail(session: Session, *, object_type: str, object_id: int) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.id)
    )
    return list(session.scalars(query))

"""The city's texting limits checked again right before texts go, not only when their rows were made."""

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from civicpost.config import Settings
from civicpost.fanout import queue
from civicpost.models import EMERGENCY_LANE, SendState, SubscriberSend
from civicpost.sms import limits, plan

SENDS = cast(Table, SubscriberSend.__table__)


def hold_texts(session: Session, rows: list[queue.Claimed], *, settings: Settings, owner: str,
               now: datetime) -> list[queue.Claimed]:
    """Check the city's limits again right before texts go (the caller commits): in quiet hours an
    ordinary text goes back to wait for their end; one over the monthly cap ends `skipped`. Answers
    the rows to send now. Emergencies are exempt from both."""
    texts = [r for r in rows if r.medium == "sms"]
    if not texts:
        return rows
    found = limits.effective(session, settings)
    quiet = plan.quiet_until(settings, now, hours=found.quiet_hours)
    table = SENDS
    lanes = dict(session.execute(select(table.c.id, table.c.lane).where(table.c.id.in_([r.id for r in texts]))).all())
    sizes = dict(session.execute(select(table.c.id, table.c.segments)
                                 .where(table.c.id.in_([r.id for r in texts]))).all())
    ordinary = [r for r in texts if lanes.get(r.id) != EMERGENCY_LANE]
    held: set[int] = set()
    if quiet is not None and ordinary:
        held = {r.id for r in ordinary}
        session.execute(update(table).where(table.c.id.in_(held), table.c.claimed_by == owner).values(
            state=SendState.pending.value, claimed_by=None, lease_until=None, next_attempt_at=quiet,
            attempts=table.c.attempts - 1))
    elif found.monthly_cap and ordinary:
        # Rows just claimed are `sending` already: count everyone else's.
        used = plan.sent_this_month(session, settings, now) - sum(sizes.get(r.id) or 1 for r in texts)
        used += sum(sizes.get(r.id) or 1 for r in texts if lanes.get(r.id) == EMERGENCY_LANE)
        over: list[int] = []
        for row in ordinary:
            size = sizes.get(row.id) or 1
            if used + size > found.monthly_cap:
                over.append(row.id)
            else:
                used += size
        if over:
            session.execute(update(table).where(table.c.id.in_(over), table.c.claimed_by == owner).values(
                state=SendState.skipped.value, claimed_by=None, lease_until=None, next_attempt_at=now,
                last_error=queue.over_cap(found.monthly_cap, used)))
            held = set(over)
            queue.finish(session, {r.delivery_id for r in texts if r.id in held}, now=now)
    return [r for r in rows if r.id not in held]

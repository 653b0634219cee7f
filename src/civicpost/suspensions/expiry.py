"""The worker's job that ends suspensions whose `until` has passed, so the end (audited, with its notice)
happens about on time even when nobody opens the page or calls the API."""

import logging

from sqlalchemy.orm import Session, sessionmaker

from civicpost.db import transaction
from civicpost.suspensions import service

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0


def run_once(sessions: sessionmaker[Session], *, name: str) -> int:
    """End what is due, in one transaction; returns how many ended. A failure is logged and tried next time."""
    try:
        with transaction(sessions) as session:
            return service.end_expired(session, by=name)
    except Exception:  # noqa: BLE001 - the next run tries again
        log.exception("worker %s: ending suspensions past their end time failed", name)
        return 0

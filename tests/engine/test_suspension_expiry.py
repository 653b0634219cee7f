"""Workers end a suspension past its `until` on their own, about on time, with no request reading it: once
(audited under a worker's name, its end notice queued once) even with two workers."""

from datetime import timedelta

from sqlalchemy import select

from civicpost.db import utcnow
from civicpost.models import AuditEvent, Notification, Suspension
from civicpost.suspensions import expiry
from tests.engine.observing import wait_for


def test_two_workers_end_a_suspension_at_its_until_once_with_its_notice(client, city, sessions, worker_factory,
                                                                        monkeypatch):
    monkeypatch.setattr(expiry, "POLL_SECONDS", 0.2)
    # Far enough ahead that the POST arrives before it on a loaded machine (CI's two passes at once).
    until = utcnow() + timedelta(seconds=4)
    s = client.post("/api/v1/suspensions", headers=city.approver.auth,
                    json={"reason": "Election day", "until": until.isoformat()}).json()
    first, second = worker_factory(name="worker-a"), worker_factory(name="worker-b")
    first.start()
    second.start()

    def ended():
        with sessions() as session:
            return session.scalar(select(Suspension.ended_at).where(Suspension.id == s["id"]))

    ended_at = wait_for(ended, timeout=10)
    assert abs((ended_at - until).total_seconds()) < 0.01, "ended at its until, not at the moment it was seen"
    with sessions() as session:
        suspension = session.get(Suspension, s["id"])
        assert suspension.ended_how == "until"
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "suspension.end")).all()
        notices = session.scalars(select(Notification.user_id).where(Notification.event == "suspension_end")).all()
    assert [e.actor for e in events] in (["worker-a"], ["worker-b"])
    assert sorted(notices) == sorted({city.approver.id, city.admin.id, city.parks_staff.id, city.police_staff.id})

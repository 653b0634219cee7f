"""Two approvers approving at the same moment: exactly one wins, the other gets 409."""

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from civicpost.db import make_engine
from civicpost.drafting import access, workflow
from civicpost.models import AuditEvent, Delivery, User
from civicpost.rendering import Renderer


def test_two_approvers_at_the_same_moment_exactly_one_wins(client, city, draft, people, sessions, settings, is_postgres):
    if not is_postgres:
        pytest.skip("real concurrent writers need PostgreSQL; this runs in the suite's PostgreSQL pass")
    second = people.person("approver", email="deputy@city.example")
    a = draft()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    renderer = Renderer(settings.templates_dir)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def approve(approver_id: int, name: str) -> None:
        session = sessions()
        try:
            with session.begin():
                actor = session.get(User, approver_id)
                announcement = access.get(session, a["id"])
                barrier.wait(timeout=10)  # both have read 'submitted' before either writes
                seen = workflow.current_fingerprint(renderer, announcement)
                workflow.approve(session, actor=actor, announcement=announcement, renderer=renderer,
                                 seen_fingerprint=seen)
            outcomes[name] = "approved"
        except Exception as exc:  # noqa: BLE001 - the loser's error is the point of the test
            outcomes[name] = type(exc).__name__
        finally:
            session.close()

    threads = [
        threading.Thread(target=approve, args=(city.approver.id, "first")),
        threading.Thread(target=approve, args=(second.id, "second")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["StaleDataError", "approved"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == len(city.parks_channels)
        assert session.scalar(select(func.count()).where(AuditEvent.action == "approve")) == 1


def test_racing_approvals_over_http_give_one_200_and_the_rest_409(client, city, draft, people):
    deputies = [people.person("approver") for _ in range(4)]
    a = draft()
    seen = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).json()["fingerprint"]
    codes: list[int] = []
    lock = threading.Lock()

    def go(person) -> None:
        r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=person.auth, json={"fingerprint": seen})
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=go, args=(p,)) for p in deputies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [200, 409, 409, 409]




def test_a_writer_that_cannot_get_sqlites_lock_gets_sqlalchemys_operational_error(tmp_path):
    """BEGIN goes straight to the driver (db.make_engine); a locked database must still be the
    OperationalError that the command line turns into one line ("the database cannot be used")."""
    engine = make_engine(f"sqlite:///{tmp_path / 'locked.db'}")
    with engine.connect() as first:
        first.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        first.commit()
        first.execution_options(sqlite_begin="IMMEDIATE")
        first.begin()  # holds the write lock
        first.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as second:
            second.connection.driver_connection.execute("PRAGMA busy_timeout=50")  # not 30 s
            second.execution_options(sqlite_begin="IMMEDIATE")
            with pytest.raises(OperationalError, match="database is locked"):
                second.begin()
        first.commit()
    with engine.connect() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    engine.dispose()

"""Workers are woken after the commit of work a person made due, and never by work rolled back."""

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from civicpost import accounts
from civicpost.db import NOTIFY_CHANNEL, transaction, wake_after_commit, waking
from civicpost.models import Department


class Wakes:
    """A stand-in for the embedded worker's wake: records what was committed when it was called."""

    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.seen: list[list[str]] = []

    def __call__(self) -> None:
        # A new session sees only committed rows: what the worker would find.
        with self.sessions() as session:
            self.seen.append(list(session.scalars(select(Department.slug).order_by(Department.slug))))


@pytest.fixture
def wakes(sessions) -> Iterator[Wakes]:
    recorder = Wakes(sessions)
    with waking(recorder):
        yield recorder


def _department(session, slug: str) -> None:
    accounts.create_department(session, actor=None, slug=slug, name=slug.title())


def test_the_worker_is_woken_once_after_the_commit_and_sees_the_work(sessions, wakes):
    with transaction(sessions) as session:
        _department(session, "parks")
        wake_after_commit(session)
        wake_after_commit(session)
        assert wakes.seen == []  # not before the commit
    assert wakes.seen == [["parks"]]


def test_a_rolled_back_transaction_wakes_nobody(sessions, wakes):
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        _department(session, "parks")
        wake_after_commit(session)
        raise RuntimeError("refused")
    with transaction(sessions) as session:
        _department(session, "police")  # a later commit that asked for nothing
    assert wakes.seen == []


def test_a_wake_asked_in_a_savepoint_that_rolls_back_is_forgotten(sessions, wakes):
    with transaction(sessions) as session:
        _department(session, "parks")
        with pytest.raises(RuntimeError), session.begin_nested():
            _department(session, "police")
            wake_after_commit(session)
            raise RuntimeError("refused")
    assert wakes.seen == []


def test_a_wake_asked_in_a_savepoint_that_holds_wakes_after_the_outer_commit(sessions, wakes):
    with transaction(sessions) as session:
        with session.begin_nested():
            _department(session, "parks")
            wake_after_commit(session)
        assert wakes.seen == []  # a savepoint's release is not the commit
        _department(session, "police")
    assert wakes.seen == [["parks", "police"]]


def test_a_session_rolled_back_midway_wakes_only_for_what_it_commits_later(sessions, wakes):
    with transaction(sessions) as session:
        _department(session, "parks")
        wake_after_commit(session)
        session.rollback()
        _department(session, "police")
    assert wakes.seen == []
    with transaction(sessions) as session:
        _department(session, "fire")
        wake_after_commit(session)
    assert wakes.seen == [["fire", "police"]]


def test_nothing_is_woken_once_the_worker_has_left(sessions):
    recorder = Wakes(sessions)
    with waking(recorder):
        pass
    with transaction(sessions) as session:
        _department(session, "parks")
        wake_after_commit(session)
    assert recorder.seen == []


def test_postgres_workers_hear_the_notify_at_the_commit_and_never_after_a_rollback(engine, sessions, is_postgres):
    if not is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        with pytest.raises(RuntimeError), transaction(sessions) as session:
            wake_after_commit(session)
            raise RuntimeError("refused")
        assert list(listener.notifies(timeout=0.5)) == []
        with transaction(sessions) as session:
            wake_after_commit(session)
            assert list(listener.notifies(timeout=0.2)) == []  # not before the commit
        heard = list(listener.notifies(timeout=2, stop_after=1))
        assert [n.channel for n in heard] == [NOTIFY_CHANNEL]


def _approve(client, announcement_id: int, person, fingerprint: str):
    return client.post(f"/api/v1/announcements/{announcement_id}/approve", headers=person.auth,
                       json={"fingerprint": fingerprint})


def test_an_approval_through_the_api_wakes_the_worker_and_a_refused_one_does_not(client, city, draft, wakes):
    a = draft()
    assert client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).status_code == 200
    assert _approve(client, a["id"], city.approver, "0" * 64).status_code == 409
    assert wakes.seen == []

    shown = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    assert _approve(client, a["id"], city.approver, shown).status_code == 200
    assert len(wakes.seen) == 1


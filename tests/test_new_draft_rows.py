"""A new draft is written with plain INSERTs (db.insert_new), not the unit of
work: what the create answers, what the database holds and what the rest of
the request sees must be exactly what a flush would have left."""

import pytest
from sqlalchemy import event, select

from civicpost.db import insert_new, insert_together, transaction, utcnow
from civicpost.models import (
    Announcement,
    AnnouncementVersion,
    AuditEvent,
    Channel,
    Department,
    Target,
    Translation,
    User,
)
from tests.factories import create_channel, create_media


def test_a_create_answers_what_a_fresh_read_of_the_draft_shows(client, city):
    x = create_channel(client, city.admin, "x")
    media = create_media(client, city.parks_staff, department="parks").json()["id"]
    created = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens Saturday", "body": "The pool opens at 9 a.m.",
        "channels": [x, city.parks_channels[0], x], "overrides": {str(x): "Pool opens 9 a.m. Saturday #parks"},
        "translations": {"es": {"title": "La piscina abre el sábado", "body": "Abre a las 9."}},
        "media": [{"id": media, "alt_text": "The pool, empty, in the sun"}],
    })
    assert created.status_code == 201, created.text
    again = client.get(f"/api/v1/announcements/{created.json()['id']}", headers=city.parks_staff.auth)
    assert again.status_code == 200, again.text
    assert created.json() == again.json()
    shown = again.json()
    assert shown["state"] == "draft" and shown["legal_hold"] is False and shown["created_at"]
    assert shown["channels"] == sorted({x, city.parks_channels[0]})
    assert shown["translations"]["es"]["title"] == "La piscina abre el sábado"
    assert [m["alt_text"] for m in shown["media"]] == ["The pool, empty, in the sun"]


def test_inserted_objects_are_persistent_loaded_and_unchanged(sessions, city, engine):
    with transaction(sessions) as session:
        parks = session.scalars(select(Department).where(Department.slug == "parks")).one()
        author = session.scalars(select(User).where(User.email == city.parks_staff.email)).one()
        channels = list(session.scalars(select(Channel).where(Channel.id.in_(city.parks_channels))))
        draft = Announcement(
            department_id=parks.id, department=parks, author_id=author.id, author=author, title="Leaf pickup",
            body="Bags out by 7 a.m.", translations=[Translation(language="fr", title="Feuilles", body="Sacs à 7 h.")],
            targets=[Target(channel_id=c.id, channel=c, override_text=None) for c in channels], media=[],
        )
        insert_new(session, draft, "translations", "targets", "media")

        assert draft in session and not session.new and not session.dirty
        statements: list[str] = []

        def count(_connection, _cursor, statement, *_rest) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            # Every column is loaded (the database's defaults included) and the relationships are as set.
            seen = {c.key: getattr(draft, c.key) for c in Announcement.__table__.c}
            assert [t.channel.name for t in draft.targets] == [c.name for c in channels]
            assert all(t.id and t.announcement_id == draft.id for t in draft.targets)
            assert draft.translations[0].id and draft.translations[0].announcement_id == draft.id
            assert draft.department is parks and draft.author is author
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert statements == []
        assert seen["state"] == "draft" and seen["version"] == 1 and seen["legal_hold"] is False
        assert seen["created_at"] is not None and seen["language"] == "en"
        session.flush()
        assert not session.new and not session.dirty
        draft_id = draft.id
    with sessions() as session:
        stored = session.get(Announcement, draft_id)
        assert stored is not None
        assert {c.key: getattr(stored, c.key) for c in Announcement.__table__.c} == seen
        assert sorted(t.channel_id for t in stored.targets) == sorted(c.id for c in channels)
        assert [(t.language, t.title) for t in stored.translations] == [("fr", "Feuilles")]


def test_a_refused_create_writes_nothing(client, city, sessions):
    before = _count(sessions)
    refused = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool", "body": "Opens.", "channels": [city.parks_channels[0], 999_999]})
    assert refused.status_code == 422 and "no channel with id 999999" in refused.text
    assert _count(sessions) == before


def _count(sessions) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(len(session.scalars(select(m.id)).all()) for m in (Announcement, Target, Translation))


def test_a_create_writes_its_first_version_and_audit_event_together(client, city, sessions, engine):
    """Version 1 and the "create" event are plain rows written as the create ends:
    one statement on PostgreSQL (a WITH clause), one INSERT each elsewhere."""
    created, statements = _created_counting(client, city, engine)
    assert created.status_code == 201, created.text
    draft = created.json()
    writes = [s for s in statements if "INSERT INTO announcement_versions" in s or "INSERT INTO audit_events" in s]
    assert len(writes) == (1 if engine.dialect.name == "postgresql" else 2), writes
    with sessions() as session:
        version = session.scalars(select(AnnouncementVersion)
                                  .where(AnnouncementVersion.announcement_id == draft["id"])).one()
        made = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "announcement",
                                                        AuditEvent.object_id == draft["id"])).one()
    assert (version.number, version.reason, version.author.email) == (1, "create", city.parks_staff.email)
    assert version.fingerprint == draft["fingerprint"] and version.content["title"] == "Rink opens"
    assert version.content["channels"][0]["id"] == city.parks_channels[0] and version.created_at is not None
    assert (made.action, made.actor, made.detail) == ("create", city.parks_staff.email, None)


def test_rows_written_together_must_give_the_same_columns_and_every_defaulted_one(sessions, city):
    versions_table = AnnouncementVersion.__table__
    events = AuditEvent.__table__
    event_row = {"actor_id": None, "actor": "worker", "action": "probe", "object_type": "announcement",
                 "object_id": 1, "fingerprint": None, "detail": None, "at": utcnow()}
    with transaction(sessions) as session:
        with pytest.raises(ValueError, match="rows for audit_events give different columns"):
            insert_together(session, [(events, [event_row, {**event_row, "extra": 1}])])
        if session.get_bind().dialect.name == "postgresql":
            # A WITH clause cannot fill in a default made in Python: the caller gives it.
            draft = _a_draft_id(session, city)
            without_time = {"announcement_id": draft, "number": 99, "author_id": None, "reason": "probe",
                            "fingerprint": "x" * 64, "content": {}}
            with pytest.raises(ValueError, match="rows for announcement_versions leave out created_at"):
                insert_together(session, [(versions_table, [without_time]), (events, [event_row])])
        session.rollback()
    with sessions() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "probe")).all() == []


def _a_draft_id(session, city) -> int:
    """Any announcement's id (a version row needs one)."""
    parks = session.scalars(select(Department).where(Department.slug == "parks")).one()
    author = session.scalars(select(User).where(User.email == city.parks_staff.email)).one()
    draft = Announcement(department_id=parks.id, department=parks, author_id=author.id, author=author,
                         title="Probe", body="Probe.", translations=[], targets=[], media=[])
    insert_new(session, draft)
    return draft.id


def test_a_new_draft_signs_its_author_in_as_plain_columns_and_names_them_everywhere(client, city, sessions, engine):
    # The author is read as four columns (a Reader), never loaded as a whole User, yet the answer,
    # the first version and the audit record all name them, as a later read of the draft does.
    created, statements = _created_counting(client, city, engine)
    assert created.status_code == 201, created.text
    assert statements[0].startswith("SELECT users.id, users.email, users.role, users.emergency_publisher, "), statements
    assert not any("users.password_hash" in s for s in statements), statements
    draft = created.json()
    assert draft["author"] == city.parks_staff.email
    again = client.get(f"/api/v1/announcements/{draft['id']}", headers=city.parks_staff.auth).json()
    assert again["author"] == city.parks_staff.email
    with sessions() as session:
        version = session.scalars(select(AnnouncementVersion)
                                  .where(AnnouncementVersion.announcement_id == draft["id"])).one()
        made = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "announcement",
                                                        AuditEvent.object_id == draft["id"])).one()
        assert version.author_id == city.parks_staff.id
        assert (made.actor_id, made.actor, made.action) == (city.parks_staff.id, city.parks_staff.email, "create")


def _created_counting(client, city, engine):
    """A Parks draft made through the API, and the statements it ran (spaces folded)."""
    statements: list[str] = []

    def count(_connection, _cursor, statement, *_rest) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        created = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
            "department": "parks", "title": "Rink opens", "body": "Skates on at noon.",
            "channels": [city.parks_channels[0]]})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return created, statements

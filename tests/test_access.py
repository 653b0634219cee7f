"""Passwords, tokens, roles and department scoping."""

import logging
from datetime import timedelta

from sqlalchemy import delete, inspect, select, text

from civicpost import security, tokens
from civicpost.db import transaction, utcnow
from civicpost.models import ApiToken, Department, User, user_departments


def test_passwords_are_stored_as_argon2_hashes(production_password_cost, city, sessions):
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == city.parks_staff.email))
        # argon2id at argon2-cffi's RFC 9106 low-memory profile: 64 MiB, three passes, four lanes.
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert "correct horse" not in user.password_hash
    # An unknown email is checked against a hash of the same cost, so it answers as slowly.
    assert security.unknown_account_hash().rsplit("$", 2)[0] == user.password_hash.rsplit("$", 2)[0]


def test_tokens_are_stored_hashed_and_the_token_itself_is_nowhere_in_the_database(city, sessions, engine):
    with sessions() as session:
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    assert city.parks_staff.token not in hashes
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT token_hash, prefix FROM api_tokens")).all()
    assert all(city.parks_staff.token not in (h + p) for h, p in rows)


def test_a_request_without_a_token_is_told_how_to_get_one(client, city):
    r = client.get("/api/v1/announcements")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "civicpost token create" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(client, city):
    r = client.get("/api/v1/announcements", headers={"Authorization": "Bearer cp_not-a-real-token"})
    assert r.status_code == 401


def _refusal(response) -> tuple:
    return response.status_code, response.json()["detail"], response.headers.get("www-authenticate")


def test_the_list_refuses_every_token_a_route_that_loads_the_person_refuses_in_the_same_words(
    client, city, engine, sessions
):
    # The list signs its caller in from plain columns (a Reader), other routes load the User:
    # two ways of loading, one set of rules. Each refusal must read the same on both.
    def both(headers: dict[str, str]) -> None:
        listed = client.get("/api/v1/announcements", headers=headers)
        me = client.get("/api/v1/users/me", headers=headers)
        assert listed.status_code == 401, listed.text
        assert _refusal(listed) == _refusal(me)

    both({})
    both({"Authorization": "Basic " + city.parks_staff.token})
    both({"Authorization": "Bearer cp_not-a-real-token"})
    with engine.begin() as connection:  # the police staff member's token expired an hour ago
        connection.execute(
            ApiToken.__table__.update().where(ApiToken.user_id == city.police_staff.id)
            .values(expires_at=utcnow() - timedelta(hours=1))
        )
    both(city.police_staff.auth)
    assert "expired on" in client.get("/api/v1/announcements", headers=city.police_staff.auth).json()["detail"]
    with engine.begin() as connection:  # the admin's token revoked
        connection.execute(
            ApiToken.__table__.update().where(ApiToken.user_id == city.admin.id).values(revoked_at=utcnow())
        )
    both(city.admin.auth)
    with transaction(sessions) as session:  # parks staff's account switched off
        session.get(User, city.parks_staff.id).active = False
    both(city.parks_staff.auth)
    # The approver still lists, and the list recorded the token's use as any route does (this process
    # writes a token's use once a minute: forget the earlier tests' tokens of the same ids).
    tokens.touched.clear()
    with engine.begin() as connection:
        connection.execute(ApiToken.__table__.update().values(last_used_at=None))
    assert client.get("/api/v1/announcements", headers=city.approver.auth).status_code == 200
    with sessions() as session:
        used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == city.approver.id))
    assert used is not None and utcnow() - used < timedelta(minutes=1)


def test_a_staff_member_lists_by_department_only_their_own_and_the_refusal_names_it(client, city, draft):
    draft()
    mine = client.get("/api/v1/announcements?department=parks", headers=city.parks_staff.auth)
    assert mine.status_code == 200 and {a["department"] for a in mine.json()["items"]} == {"parks"}
    theirs = client.get("/api/v1/announcements?department=police", headers=city.parks_staff.auth)
    assert theirs.status_code == 403 and theirs.json()["detail"] == "you are not a member of Police Department"
    assert client.get("/api/v1/announcements?department=police", headers=city.approver.auth).status_code == 200


def test_parks_staff_get_the_same_404_for_police_drafts_as_for_missing_ones(client, city):
    r = client.post(
        "/api/v1/announcements", headers=city.police_staff.auth,
        json={"department": "police", "title": "Road closure", "body": "Main St closed.", "channels": city.police_channels},
    )
    police_id = r.json()["id"]
    for method, path in [
        ("get", "/api/v1/announcements/{}"),
        ("get", "/api/v1/announcements/{}/audit"),
        ("patch", "/api/v1/announcements/{}"),
        ("post", "/api/v1/announcements/{}/submit"),
        ("post", "/api/v1/announcements/{}/cancel"),
    ]:
        kwargs = {"json": {"title": "x"}} if method == "patch" else {}
        theirs = getattr(client, method)(path.format(police_id), headers=city.parks_staff.auth, **kwargs)
        missing = getattr(client, method)(path.format(police_id + 1000), headers=city.parks_staff.auth, **kwargs)
        assert theirs.status_code == missing.status_code == 404, (method, path, theirs.text)
        assert theirs.json()["detail"] == missing.json()["detail"].replace(str(police_id + 1000), str(police_id))
    # Departments are public (the directory lists them): naming one you are not in is refused outright.
    assert client.get("/api/v1/announcements?department=police", headers=city.parks_staff.auth).status_code == 403


def test_staff_cannot_draft_for_another_department_or_target_its_channels(client, city):
    r = client.post(
        "/api/v1/announcements", headers=city.parks_staff.auth,
        json={"department": "police", "title": "x", "body": "y"},
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/announcements", headers=city.parks_staff.auth,
        json={"department": "parks", "title": "x", "body": "y", "channels": city.police_channels},
    )
    assert r.status_code == 422
    assert "another department" in r.json()["errors"][0]["message"]


def test_staff_lists_only_their_departments_and_approvers_see_all(client, city, draft):
    draft()
    client.post(
        "/api/v1/announcements", headers=city.police_staff.auth,
        json={"department": "police", "title": "Road closure", "body": "Main St closed."},
    )
    parks_view = client.get("/api/v1/announcements", headers=city.parks_staff.auth).json()["items"]
    assert {a["department"] for a in parks_view} == {"parks"}
    all_view = client.get("/api/v1/announcements", headers=city.approver.auth).json()["items"]
    assert {a["department"] for a in all_view} == {"parks", "police"}


def test_only_admins_manage_departments_users_and_channels(client, city):
    for path, body in [
        ("/api/v1/departments", {"slug": "library", "name": "Library"}),
        ("/api/v1/users", {"email": "new@city.example", "name": "New", "password": "long enough password"}),
        ("/api/v1/channels", {"department": "parks", "platform": "feed", "name": "Feed"}),
    ]:
        assert client.post(path, headers=city.approver.auth, json=body).status_code == 403
        assert client.post(path, headers=city.parks_staff.auth, json=body).status_code == 403


def test_admin_creates_departments_and_users_and_duplicates_are_conflicts(client, city):
    r = client.post("/api/v1/departments", headers=city.admin.auth, json={"slug": "library", "name": "Public Library"})
    assert r.status_code == 201 and r.json()["slug"] == "library" and "id" in r.json()
    assert client.post("/api/v1/departments", headers=city.admin.auth, json={"slug": "library", "name": "Again"}).status_code == 409
    body = {"email": "Lee@City.Example", "name": "Lee", "role": "staff", "departments": ["library"], "password": "a long password here"}
    r = client.post("/api/v1/users", headers=city.admin.auth, json=body)
    assert r.status_code == 201
    made = r.json()
    assert {k: made[k] for k in ("email", "name", "role", "departments", "active")} == {
        "email": "lee@city.example", "name": "Lee", "role": "staff", "departments": ["library"], "active": True}
    assert "password" not in str(made) and "hash" not in str(made)
    assert client.post("/api/v1/users", headers=city.admin.auth, json=body).status_code == 409
    body["email"] = "other@city.example"
    body["departments"] = ["nowhere"]
    r = client.post("/api/v1/users", headers=city.admin.auth, json=body)
    assert r.status_code == 422 and "nowhere" in r.json()["detail"]


def test_channel_credentials_are_encrypted_at_rest_and_never_returned_or_logged(client, city, engine, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "EAAB-page-token-very-secret-123"
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "facebook", "name": "Parks on Facebook",
              "credentials": {"page_access_token": secret}, "settings": {"page_id": "1234"}},
    )
    assert r.status_code == 201, r.text
    assert secret not in r.text and "credentials" not in r.json()
    assert r.json()["has_credentials"] is True
    listed = client.get("/api/v1/channels?department=parks", headers=city.parks_staff.auth)
    assert secret not in listed.text
    assert {c["health"]["status"] for c in listed.json()["items"]} == {"unknown"}
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT credentials_encrypted FROM channels WHERE platform = 'facebook'")).scalar()
    assert secret.encode() not in bytes(raw)
    assert secret not in caplog.text


def test_stored_credentials_open_with_the_key_and_not_without_it(client, city, sessions, settings):
    import pytest

    from civicpost.models import Channel
    from civicpost.security import CredentialBox, CredentialsUnreadable

    key = settings.secret_key.get_secret_value()

    with sessions() as session:
        channel = session.scalar(select(Channel).where(Channel.platform == "webhook"))
        assert CredentialBox(key).open(channel.credentials_encrypted) == {"secret": "hook-secret-value"}
        with pytest.raises(CredentialsUnreadable, match="CIVICPOST_SECRET_KEY"):
            CredentialBox("another-key-entirely-0123456789abcdef").open(channel.credentials_encrypted)


def test_a_channel_with_missing_or_unknown_credentials_is_refused_field_by_field(client, city):
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "x", "name": "Parks on X",
              "credentials": {"consumer_key": "a", "password": "b"}, "settings": {"colour": "green"}},
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"credentials.password", "settings.colour"} <= fields
    # With the unknown keys gone, what is missing of X's credentials is named.
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "x", "name": "Parks on X", "credentials": {"consumer_key": "a"}},
    )
    assert r.status_code == 422
    assert [(e["field"], "OAuth 1.0a" in e["message"]) for e in r.json()["errors"]] == [("credentials", True)]


def test_replacing_credentials_clears_needs_attention_and_shows_nothing(client, city):
    hook = city.parks_channels[1]
    r = client.put(f"/api/v1/channels/{hook}/credentials", headers=city.admin.auth, json={"credentials": {"secret": "new-secret-xyz"}})
    assert r.status_code == 200
    assert "new-secret-xyz" not in r.text


def test_channel_settings_values_have_limits(client, city):
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "webhook", "name": "Hook", "credentials": {"secret": "s"},
              "settings": {"url": "http://127.0.0.1/" + "a" * 3000}},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "settings.url"


def test_membership_is_answered_alike_with_and_without_the_person_s_departments_loaded(city, sessions):
    with sessions() as session:
        parks, police = (session.scalar(select(Department).where(Department.slug == s)) for s in ("parks", "police"))
        person = session.get(User, city.parks_staff.id)
        # Not loaded: one lookup per question, and the collection stays unloaded.
        assert person.is_member(parks.id) and not person.is_member(police.id)
        assert "departments" not in inspect(person).dict
        assert not person.is_member(2_147_483_647)
        assert person.department_ids() == [parks.id]  # what a staff member's list is narrowed to
        assert "departments" not in inspect(person).dict
    with sessions() as session:
        person = session.get(User, city.parks_staff.id)
        assert [d.slug for d in person.departments] == ["parks"]  # loaded: read from the collection
        assert person.is_member(parks.id) and not person.is_member(police.id)
        assert person.department_ids() == [parks.id]


def test_a_membership_changed_in_the_session_counts_before_it_is_written(city, sessions):
    with sessions() as session:
        police = session.scalar(select(Department).where(Department.slug == "police"))
        person = session.get(User, city.parks_staff.id)
        person.departments = [police]  # not flushed
        assert person.is_member(police.id)
        assert person.department_ids() == [police.id]
        assert not any(person.is_member(d.id) for d in session.scalars(select(Department))
                       if d.slug != "police")
        session.rollback()


def test_a_member_removed_in_the_database_is_no_longer_a_member_at_the_next_request(client, city, sessions):
    with transaction(sessions) as session:
        session.execute(delete(user_departments).where(user_departments.c.user_id == city.parks_staff.id))
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Pool hours", "body": "Open at 9.",
                          "channels": city.parks_channels})
    assert r.status_code == 403
    assert "not a member of Parks" in r.json()["detail"]

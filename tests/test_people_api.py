"""People and tokens through /api/v1: roles, departments, deactivation, token expiry and
revocation, with the guards a city expects and every change audited (SPEC §8.1 "User lifecycle")."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from civicpost import people, tokens
from civicpost.db import transaction, utcnow
from civicpost.errors import Conflict
from civicpost.models import ApiToken, AuditEvent, Role, User


def user_json(client, admin, email: str) -> dict:
    found = [u for u in client.get("/api/v1/users", headers=admin.auth).json()["items"] if u["email"] == email]
    assert found, email
    return found[0]


def audit_actions(sessions, user_id: int) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "user",
                                                                    AuditEvent.object_id == user_id).order_by(AuditEvent.id)))


def test_an_admin_lists_users_with_role_departments_and_status(client, city):
    r = client.get("/api/v1/users", headers=city.admin.auth)
    assert r.status_code == 200
    pat = user_json(client, city.admin, city.parks_staff.email)
    assert pat["role"] == "staff" and pat["departments"] == ["parks"] and pat["active"] is True
    assert set(pat) == {"id", "email", "name", "role", "departments", "active", "emergency_publisher", "created_at",
                         "sign_in"}
    assert pat["emergency_publisher"] is False
    assert pat["created_at"].endswith(("-05:00", "-04:00"))  # the city's zone
    for person in (city.parks_staff, city.approver):
        assert client.get("/api/v1/users", headers=person.auth).status_code == 403


def test_an_admin_changes_role_departments_and_name_and_it_is_audited(client, city, sessions):
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=city.admin.auth,
                     json={"role": "approver", "departments": ["parks", "police"], "name": "Pat Parker"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "approver" and r.json()["departments"] == ["parks", "police"] and r.json()["name"] == "Pat Parker"
    assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).json()["role"] == "approver"
    with sessions() as session:
        event_ = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert event_.actor == city.admin.email and event_.object_id == city.parks_staff.id
    assert event_.detail["role"] == {"from": "staff", "to": "approver"}
    assert event_.detail["departments"] == {"from": ["parks"], "to": ["parks", "police"]}


def test_a_deactivated_persons_tokens_stop_at_once_and_stay_revoked(client, city, sessions):
    assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).status_code == 200
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=city.admin.auth, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).status_code == 401
    client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=city.admin.auth, json={"active": True})
    assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).status_code == 401
    assert audit_actions(sessions, city.parks_staff.id)[-2:] == ["user.deactivate", "user.reactivate"]


def test_an_admin_cannot_deactivate_or_demote_themselves(client, city):
    for change in ({"active": False}, {"role": "approver"}):
        r = client.patch(f"/api/v1/users/{city.admin.id}", headers=city.admin.auth, json=change)
        assert r.status_code == 409 and "another administrator" in r.json()["detail"]
    assert user_json(client, city.admin, city.admin.email)["role"] == "admin"


def test_the_last_active_admin_cannot_be_removed(city, sessions):
    with transaction(sessions) as session:
        admin = session.get(User, city.admin.id)
        with pytest.raises(Conflict, match="last active administrator"):
            people.update_user(session, actor=None, user=admin, active=False)
        with pytest.raises(Conflict, match="last active administrator"):
            people.update_user(session, actor=None, user=admin, role=Role.approver)


def test_with_a_second_admin_one_may_step_down_the_other(client, city):
    client.patch(f"/api/v1/users/{city.approver.id}", headers=city.admin.auth, json={"role": "admin"})
    r = client.patch(f"/api/v1/users/{city.admin.id}", headers=city.approver.auth, json={"role": "approver"})
    assert r.status_code == 200 and r.json()["role"] == "approver"


def test_a_staff_member_keeps_at_least_one_department(client, city):
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=city.admin.auth, json={"departments": []})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "departments"
    r = client.patch(f"/api/v1/users/{city.approver.id}", headers=city.admin.auth, json={"role": "staff"})
    assert r.status_code == 422 and "at least one department" in r.json()["detail"]


def test_bad_user_changes_answer_4xx_that_say_what_to_fix(client, city):
    h = city.admin.auth
    assert client.patch("/api/v1/users/999999", headers=h, json={"active": False}).status_code == 404
    assert client.patch(f"/api/v1/users/{2**63}", headers=h, json={"active": False}).status_code == 422
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=h, json={"role": "boss"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=h, json={"departments": ["nowhere"]})
    assert r.status_code == 422 and "unknown department 'nowhere'" in r.json()["detail"]
    r = client.patch(f"/api/v1/users/{city.parks_staff.id}", headers=h, json={"email": "x@y.z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "email"
    assert client.patch(f"/api/v1/users/{city.admin.id}", headers=city.approver.auth, json={"name": "X"}).status_code == 403


def test_a_person_makes_a_token_sees_it_once_and_lists_it_without_the_secret(client, city):
    r = client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": "newsletter sync", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["token"].startswith("cp_") and made["status"] == "active" and made["user"] == city.parks_staff.email
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 200
    listed = client.get("/api/v1/tokens", headers=city.parks_staff.auth).json()["items"]
    assert {t["name"] for t in listed} == {"", "newsletter sync"}
    assert all("token" not in t and made["token"] not in str(t) for t in listed)
    assert {t["user"] for t in listed} == {city.parks_staff.email}


def test_an_admin_lists_everyones_tokens_or_one_persons(client, city):
    everyone = client.get("/api/v1/tokens", headers=city.admin.auth).json()["items"]
    assert len({t["user"] for t in everyone}) == 4
    pats = client.get(f"/api/v1/tokens?user={city.parks_staff.email}", headers=city.admin.auth).json()["items"]
    assert {t["user"] for t in pats} == {city.parks_staff.email}
    r = client.get(f"/api/v1/tokens?user={city.admin.email}", headers=city.parks_staff.auth)
    assert r.status_code == 403


def test_an_expired_token_is_refused_with_how_to_make_a_new_one(client, city, sessions):
    made = client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": "short", "expires_in_days": 1}).json()
    with transaction(sessions) as session:
        session.execute(update(ApiToken).where(ApiToken.id == made["id"]).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {made['token']}"})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"] and "civicpost token create" in r.json()["detail"] and "/staff/account" in r.json()["detail"]
    status = {t["id"]: t["status"] for t in client.get("/api/v1/tokens", headers=city.parks_staff.auth).json()["items"]}
    assert status[made["id"]] == "expired"


def test_token_expiry_must_be_a_sensible_number_of_days(client, city):
    for days in (0, -1, 3651, "soon"):
        r = client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": "x", "expires_in_days": days})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expires_in_days"
    assert client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": ""}).status_code == 422


def test_a_person_revokes_their_own_token_and_it_stops_at_once(client, city, sessions):
    made = client.post("/api/v1/tokens", headers=city.parks_staff.auth, json={"name": "laptop"}).json()
    r = client.delete(f"/api/v1/tokens/{made['id']}", headers=city.parks_staff.auth)
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_at"]
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401
    # Revoking again changes nothing and records nothing new.
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=city.parks_staff.auth).status_code == 200
    assert audit_actions(sessions, city.parks_staff.id).count("token.revoke") == 1


def test_someone_elses_token_is_not_found_but_an_admin_may_revoke_any(client, city):
    made = client.post("/api/v1/tokens", headers=city.police_staff.auth, json={"name": "police feed"}).json()
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=city.parks_staff.auth).status_code == 404
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=city.admin.auth).status_code == 200
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401
    assert client.delete("/api/v1/tokens/999999", headers=city.admin.auth).status_code == 404


def test_last_used_is_written_about_once_a_minute_not_on_every_request(client, city, engine, sessions):
    tokens.touched.clear()
    writes = []

    def count(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(10):
            assert client.get("/api/v1/users/me", headers=city.parks_staff.auth).status_code == 200
        assert client.get("/api/v1/departments", headers=city.parks_staff.auth).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(writes) == 1
    with sessions() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.user_id == city.parks_staff.id))
    assert utcnow() - token.last_used_at < timedelta(seconds=30)


def test_the_openapi_document_shows_the_shapes_of_users_and_tokens(client):
    spec = client.get("/openapi.json").json()
    for path, method in (("/api/v1/users", "get"), ("/api/v1/users/{user_id}", "patch"), ("/api/v1/tokens", "get"),
                         ("/api/v1/tokens", "post"), ("/api/v1/tokens/{token_id}", "delete")):
        responses = spec["paths"][path][method]["responses"]
        ok = responses.get("200") or responses.get("201")
        assert "$ref" in ok["content"]["application/json"]["schema"], (path, method)
    assert "token" in spec["components"]["schemas"]["NewToken"]["properties"]
    assert "expires_in_days" in spec["components"]["schemas"]["TokenIn"]["properties"]

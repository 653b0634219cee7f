"""How each person signs in, on the users pages and in GET /api/v1/users: single sign-on or password,
second factors, the last sign-in, and who has no second factor yet (marked where it is required)."""

from sqlalchemy import update

from civicpost.db import transaction, utcnow
from civicpost.models import PASSKEY, SecondFactor, User

HTML = {"accept": "text/html"}


def test_the_users_pages_show_how_each_person_signs_in_and_who_lacks_a_second_factor(sign_in, city, sessions, client):
    with transaction(sessions) as session:
        session.add(SecondFactor(user_id=city.police_staff.id, kind=PASSKEY, name="key", credential_id="abc",
                                 public_key=b"k", confirmed_at=utcnow()))
        session.execute(update(User).where(User.id == city.admin.id).values(sso_provider="oidc", sso_subject="s1"))
    admin = sign_in(city.admin)
    admin.headers.update(HTML)
    listing = admin.get("/staff/users").text
    assert "single sign-on (OpenID Connect)" in listing and "password and passkey" in listing
    assert "(second factor required)" in listing  # the approver: password alone
    only = admin.get("/staff/users?second_factor=missing").text
    assert "comms" in only and "pat@city.example" in only
    assert "sam@city.example" not in only and "admin@city.example</td>" not in only
    person = admin.get(f"/staff/users/{city.approver.id}").text
    assert "a second factor is required" in person
    assert "password" in admin.get(f"/staff/users/{city.admin.id}").text  # signed in just now, with a password

    users = {u["email"]: u for u in client.get("/api/v1/users", headers=city.admin.auth).json()["items"]}
    assert users[city.police_staff.email]["sign_in"]["second_factors"] == ["passkey"]
    assert users[city.admin.email]["sign_in"]["sso"] == "oidc"
    assert users[city.admin.email]["sign_in"]["last_method"] == "password"
    assert users[city.approver.email]["sign_in"]["second_factor_required"] is True
    assert users[city.parks_staff.email]["sign_in"]["second_factor_required"] is False

"""Administering departments, users and channels through the staff pages."""

import re
import threading
import time

import pytest
from sqlalchemy import select

from civicpost.db import transaction
from civicpost.models import AuditEvent, Channel, Department, User
from civicpost.sandbox.testing import running_sandbox
from tests.pages import csrf_of

HTML = {"accept": "text/html,application/xhtml+xml"}
SECRET = "s3cret-token-never-shown-0123456789"
ADMIN_PAGES = ("/staff/departments", "/staff/users", "/staff/channels")


def described_by(html: str, field_id: str) -> str:
    """The text of the element(s) a field's aria-describedby points to."""
    tag = re.search(rf'<(?:input|select|textarea|fieldset)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert tag, f"no field {field_id}"
    ids = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert ids, f"{field_id} is not tied to any message"
    texts = [re.search(rf'id="{i}"[^>]*>(.*?)</p>', html, re.S).group(1) for i in ids.group(1).split()]
    return " ".join(texts)


def is_invalid(html: str, field_id: str) -> bool:
    tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    return bool(tag) and 'aria-invalid="true"' in tag.group(0)


@pytest.fixture
def admin(sign_in, city):
    browser = sign_in(city.admin)
    browser.headers.update(HTML)
    return browser


def post_form(browser, page_url: str, action: str, data: dict, **kwargs):
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    return browser.post(action, data={"csrf_token": csrf_of(page.text), **data}, **kwargs)


def test_staff_and_approvers_get_a_friendly_forbidden_page_on_admin_pages(sign_in, city):
    for person in (city.parks_staff, city.approver):
        browser = sign_in(person)
        for url in (*ADMIN_PAGES, f"/staff/channels/{city.parks_channels[0]}"):
            r = browser.get(url, headers=HTML)
            assert r.status_code == 403, url
            assert "text/html" in r.headers["content-type"] and "for administrators" in r.text


def test_a_non_admin_cannot_create_through_the_forms_either(sign_in, city, sessions):
    browser = sign_in(city.approver)
    token = csrf_of(browser.get("/staff/").text)
    r = browser.post("/staff/departments", data={"csrf_token": token, "slug": "arts", "name": "Arts"}, headers=HTML)
    assert r.status_code == 403
    r = browser.post(f"/staff/channels/{city.parks_channels[0]}/test", data={"csrf_token": token}, headers=HTML)
    assert r.status_code == 403
    with sessions() as session:
        assert session.scalar(select(Department).where(Department.slug == "arts")) is None


def test_a_form_without_the_csrf_token_is_refused(admin):
    r = admin.post("/staff/departments", data={"csrf_token": "forged", "slug": "arts", "name": "Arts"})
    assert r.status_code == 403 and "expired" in r.text


def test_an_admin_adds_a_department_and_sees_it_listed_with_an_audit_event(admin, sessions):
    r = post_form(admin, "/staff/departments", "/staff/departments", {"slug": "arts", "name": "Arts Council"},
                  follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/departments"
    page = admin.get("/staff/departments").text
    assert "Added the department Arts Council." in page and "<code>arts</code>" in page
    with sessions() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "department.create",
                                                       AuditEvent.actor == "admin@city.example"))


def test_a_bad_or_taken_department_short_name_is_explained_next_to_the_field(admin):
    r = post_form(admin, "/staff/departments", "/staff/departments", {"slug": "Arts Council!", "name": ""})
    assert r.status_code == 422
    assert "lower-case letters" in described_by(r.text, "f-slug") and is_invalid(r.text, "f-slug")
    assert "Fill this in" in described_by(r.text, "f-name") and is_invalid(r.text, "f-name")
    assert 'href="#f-slug"' in r.text  # the error summary leads to the field
    r = post_form(admin, "/staff/departments", "/staff/departments", {"slug": "parks", "name": "Parks again"})
    assert r.status_code == 409 and "already exists" in described_by(r.text, "f-slug")
    assert 'value="Parks again"' in r.text


def test_an_admin_adds_a_user_with_departments_who_can_then_sign_in(admin, sign_in, sessions):
    data = {"email": "Lee@City.example", "name": "Lee Park", "role": "staff", "departments": ["parks", "police"],
            "password": "a long initial password"}
    r = post_form(admin, "/staff/users", "/staff/users", data, follow_redirects=False)
    assert r.status_code == 303
    assert "Added Lee Park (lee@city.example) as staff" in admin.get("/staff/users").text
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == "lee@city.example"))
        assert user.department_slugs == ["parks", "police"]
    page = admin.get("/staff/users").text
    assert "a long initial password" not in page


def test_user_form_errors_are_tied_to_their_fields_and_the_password_is_not_echoed(admin):
    data = {"email": "not-an-email", "name": "Kim", "role": "staff", "password": "short-pw"}
    r = post_form(admin, "/staff/users", "/staff/users", data)
    assert r.status_code == 422
    assert "email address" in described_by(r.text, "f-email") and is_invalid(r.text, "f-email")
    assert "12 characters" in described_by(r.text, "f-password") and is_invalid(r.text, "f-password")
    assert "short-pw" not in r.text and 'value="Kim"' in r.text
    r = post_form(admin, "/staff/users", "/staff/users", {**data, "email": "kim@city.example", "password": "x" * 12})
    assert r.status_code == 422
    assert "at least one department" in described_by(r.text, "f-departments")


def test_a_duplicate_email_is_reported_on_the_email_field(admin, city):
    data = {"email": "PAT@city.example", "name": "Pat Again", "role": "approver", "password": "x" * 12}
    r = post_form(admin, "/staff/users", "/staff/users", data)
    assert r.status_code == 409
    assert "already an account with this email" in described_by(r.text, "f-email")


def test_the_channel_form_asks_for_the_chosen_platforms_credentials_as_write_only_fields(admin):
    page = admin.get("/staff/channels?platform=bluesky").text
    for key in ("handle", "app_password"):
        tag = re.search(rf'<input[^>]*name="credentials\.{key}"[^>]*>', page).group(0)
        assert 'type="password"' in tag and 'autocomplete="off"' in tag and "value=" not in tag
        assert f'<label for="f-credentials-{key}">' in page
    assert 'name="settings.api_base"' in page and 'name="credentials.access_token"' not in page


def test_an_admin_adds_a_channel_and_its_secret_never_appears_on_any_page(admin, sessions, app):
    data = {"platform": "mastodon", "department": "parks", "name": "Parks on Mastodon", "language": "en",
            "credentials.access_token": SECRET, "settings.api_base": "https://social.example",
            "settings.overflow": "thread"}
    r = post_form(admin, "/staff/channels?platform=mastodon", "/staff/channels", data, follow_redirects=False)
    assert r.status_code == 303, r.text
    detail = admin.get(r.headers["location"]).text
    assert "Parks on Mastodon" in detail and "https://social.example" in detail
    assert re.search(r"Access token</th><td>set</td>", detail)
    for url in (*ADMIN_PAGES, r.headers["location"], "/staff/channels?platform=mastodon"):
        assert SECRET not in admin.get(url).text
    with sessions() as session:
        channel = session.scalar(select(Channel).where(Channel.name == "Parks on Mastodon"))
        assert app.state.box.open(channel.credentials_encrypted) == {"access_token": SECRET}
        assert channel.settings == {"api_base": "https://social.example", "overflow": "thread"}


def test_channel_form_errors_come_from_the_same_rules_as_the_api_and_keep_no_secret(admin):
    data = {"platform": "mastodon", "department": "", "name": "", "language": "en",
            "credentials.access_token": SECRET, "settings.api_base": "ftp://social.example",
            "settings.max_characters": "lots"}
    r = post_form(admin, "/staff/channels?platform=mastodon", "/staff/channels", data)
    assert r.status_code == 422
    assert "Choose a department" in described_by(r.text, "f-department") and is_invalid(r.text, "f-department")
    assert "Fill this in" in described_by(r.text, "f-name")
    assert "whole number" in described_by(r.text, "f-settings-max_characters")
    assert "http:// or https://" in described_by(r.text, "f-settings-api_base")  # every problem in one round
    assert SECRET not in r.text
    data.update({"department": "parks", "name": "Parks", "settings.max_characters": ""})
    data.update({"settings.api_base": "https://social.example", "credentials.access_token": ""})
    r = post_form(admin, "/staff/channels?platform=mastodon", "/staff/channels", data)
    assert r.status_code == 422 and "Fill in Access token" in described_by(r.text, "f-credentials")


def test_replacing_credentials_stores_the_new_set_and_clears_needs_attention(admin, city, sessions, app):
    hook = city.parks_channels[1]
    with transaction(sessions) as session:
        session.get(Channel, hook).needs_attention = True
    r = post_form(admin, f"/staff/channels/{hook}", f"/staff/channels/{hook}/credentials",
                  {"credentials.secret": SECRET}, follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(f"/staff/channels/{hook}").text
    assert "Replaced the credentials" in page and SECRET not in page and "hook-secret-value" not in page
    with sessions() as session:
        channel = session.get(Channel, hook)
        assert app.state.box.open(channel.credentials_encrypted) == {"secret": SECRET} and not channel.needs_attention
    r = post_form(admin, f"/staff/channels/{hook}", f"/staff/channels/{hook}/credentials", {"credentials.secret": ""})
    assert r.status_code == 422 and "Fill in Signing secret" in described_by(r.text, "f-credentials")


def _mastodon_channel(admin, base: str, token: str) -> int:
    data = {"platform": "mastodon", "department": "parks", "name": f"Parks Mastodon {token}", "language": "en",
            "credentials.access_token": token, "settings.api_base": f"{base}/mastodon"}
    r = post_form(admin, "/staff/channels?platform=mastodon", "/staff/channels", data, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_test_connection_against_the_sandbox_records_success_and_the_instance_limit(admin, sessions):
    with running_sandbox() as base:
        channel_id = _mastodon_channel(admin, base, "tok")
        r = post_form(admin, f"/staff/channels/{channel_id}", f"/staff/channels/{channel_id}/test", {},
                      follow_redirects=False)
    assert r.status_code == 303
    page = admin.get(f"/staff/channels/{channel_id}").text
    assert "The connection works." in page and "500 characters" in page
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel.last_success_at is not None and not channel.needs_attention
        assert channel.settings["max_characters"] == 500
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "channel.checked",
                                                       AuditEvent.object_id == channel_id))


def test_test_connection_with_a_refused_token_marks_the_channel_as_needing_attention(admin, sessions):
    with running_sandbox() as base:
        channel_id = _mastodon_channel(admin, base, "bad")
        post_form(admin, f"/staff/channels/{channel_id}", f"/staff/channels/{channel_id}/test", {}, follow_redirects=False)
    page = admin.get(f"/staff/channels/{channel_id}").text
    assert "The connection test failed" in page and "Needs attention" in page
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel.needs_attention and channel.last_error and channel.last_error_at
        assert channel.last_success_at is None and "max_characters" not in channel.settings
    assert "Needs attention" in admin.get("/staff/channels").text


def test_test_connection_holds_no_database_lock_while_the_platform_answers(admin, sessions):
    with running_sandbox(latency_ms=1500) as base:
        channel_id = _mastodon_channel(admin, base, "tok")
        token = csrf_of(admin.get(f"/staff/channels/{channel_id}").text)
        testing = threading.Thread(target=admin.post, args=(f"/staff/channels/{channel_id}/test",),
                                   kwargs={"data": {"csrf_token": token}, "follow_redirects": False})
        testing.start()
        time.sleep(0.5)  # the page is now waiting for the sandbox
        started = time.monotonic()
        with transaction(sessions) as session:
            session.get(Channel, channel_id).name = "Renamed meanwhile"
        waited = time.monotonic() - started
        assert testing.is_alive(), "the platform answered before the write was tried"
        testing.join(timeout=30)
    assert waited < 1.0
    with sessions() as session:
        channel = session.get(Channel, channel_id)
        assert channel.name == "Renamed meanwhile" and channel.last_success_at is not None


def test_the_channel_list_shows_each_channels_health(admin, city, sessions):
    with transaction(sessions) as session:
        hook = session.get(Channel, city.police_channels[1])
        hook.last_error, hook.needs_attention = "401 token revoked", True
    page = admin.get("/staff/channels").text
    row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/staff/channels/%d\">.*?</tr>" % hook.id, page, re.S).group(0)
    assert "Police Department" in row and "Webhook" in row and "Needs attention" in row and "401 token revoked" in row


def test_email_settings_typed_as_text_are_stored_as_numbers_lists_and_yes_or_no(admin, sessions):
    data = {"platform": "email", "department": "police", "name": "Police alerts list", "language": "es",
            "settings.smtp_host": "smtp.city.example", "settings.smtp_port": "2525", "settings.starttls": "no",
            "settings.from": "alerts@city.example", "settings.to": "list@city.example,\nwatch@city.example"}
    r = post_form(admin, "/staff/channels?platform=email", "/staff/channels", data, follow_redirects=False)
    assert r.status_code == 303, r.text
    with sessions() as session:
        channel = session.scalar(select(Channel).where(Channel.name == "Police alerts list"))
        assert channel.language == "es" and channel.credentials_encrypted is None
        assert channel.settings == {"smtp_host": "smtp.city.example", "smtp_port": 2525, "starttls": False,
                                    "from": "alerts@city.example", "to": ["list@city.example", "watch@city.example"]}

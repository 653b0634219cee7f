"""An admin sets up Instagram and Threads channels on the staff pages; the directory links to the accounts."""

import pytest

from civicpost.models import Channel
from civicpost.sandbox.testing import running_sandbox
from tests.pages import csrf_of

HTML = {"accept": "text/html,application/xhtml+xml"}
FIELDS = {
    "instagram": {"credentials.access_token": "IGAA-token", "settings.ig_user_id": "17841400000000001"},
    "threads": {"credentials.access_token": "THAA-token", "settings.threads_user_id": "25000000000000001"},
}


@pytest.fixture
def admin(sign_in, city):
    browser = sign_in(city.admin)
    browser.headers.update(HTML)
    return browser


def submit(browser, page_url: str, action: str, data: dict):
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    return browser.post(action, data={"csrf_token": csrf_of(page.text), **data}, follow_redirects=False)


@pytest.mark.parametrize("platform", ["instagram", "threads"])
def test_the_channel_form_asks_for_the_token_and_the_account_number(admin, platform):
    page = admin.get(f"/staff/channels?platform={platform}").text

    for name in FIELDS[platform]:
        assert f'name="{name}"' in page, name
    assert 'name="settings.username"' in page and "Test connection fills it in" in page


@pytest.mark.parametrize(("platform", "profile"), [("instagram", "/instagram/cityofsandbox/"),
                                                   ("threads", "/threads/@cityofsandbox")])
def test_test_connection_names_the_account_keeps_its_name_and_the_directory_links_to_it(
        admin, client, sessions, platform, profile):
    with running_sandbox() as base:
        made = submit(admin, f"/staff/channels?platform={platform}", "/staff/channels", {
            "platform": platform, "department": "parks", "name": f"Parks on {platform}", "language": "en",
            "settings.api_base": f"{base}/{platform}", "settings.web_base": f"{base}/{platform}", **FIELDS[platform]})
        assert made.status_code == 303, made.text
        channel_id = int(made.headers["location"].rsplit("/", 1)[1])
        submit(admin, f"/staff/channels/{channel_id}", f"/staff/channels/{channel_id}/test", {})

        page = admin.get(f"/staff/channels/{channel_id}").text
        assert "The connection works. Signed in as @cityofsandbox." in page
        with sessions() as session:
            assert session.get(Channel, channel_id).settings["username"] == "cityofsandbox"
        assert f'href="{base}{profile}"' in client.get("/directory").text

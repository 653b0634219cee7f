"""Staff pages wake the worker through the after-commit hook: once for an approval, never for a refused one."""

import re

from civicpost.db import waking
from tests.pages import csrf_of


def _fingerprint_in(html: str, announcement_id: int) -> str:
    form = re.search(rf'action="/staff/announcements/{announcement_id}/approve".*?name="fingerprint" value="([0-9a-f]+)"',
                     html, re.S)
    assert form, "no approve form for this announcement"
    return form.group(1)


def test_an_approval_on_the_queue_page_wakes_the_worker_once_and_a_refused_one_never(sign_in, city, client, draft):
    a = draft()
    assert client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).status_code == 200
    browser = sign_in(city.approver)
    page = browser.get("/staff/approvals")
    woken: list[bool] = []
    with waking(lambda: woken.append(True)):
        refused = browser.post(f"/staff/announcements/{a['id']}/approve",
                               data={"csrf_token": csrf_of(page.text), "fingerprint": "0" * 64})
        assert "changed after you looked at it" in refused.text
        assert woken == []
        approved = browser.post(f"/staff/announcements/{a['id']}/approve",
                                data={"csrf_token": csrf_of(page.text), "fingerprint": _fingerprint_in(page.text, a["id"])})
        assert "Approved “Pool opens Saturday”" in approved.text
    assert woken == [True]

"""Listing announcements: filters and keyset pagination."""

from tests.factories import grant_emergency_publisher


def test_pages_walk_every_announcement_once_newest_first(client, city, draft):
    ids = [draft(title=f"Notice {n}")["id"] for n in range(7)]
    seen, cursor = [], None
    while True:
        url = "/api/v1/announcements?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=city.parks_staff.auth).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)


def test_a_new_announcement_does_not_shift_the_next_page(client, city, draft):
    for n in range(4):
        draft(title=f"Notice {n}")
    first = client.get("/api/v1/announcements?limit=2", headers=city.parks_staff.auth).json()
    draft(title="Arrived in between")
    second = client.get(f"/api/v1/announcements?limit=2&cursor={first['next_cursor']}", headers=city.parks_staff.auth).json()
    assert [a["title"] for a in second["items"]] == ["Notice 1", "Notice 0"]


def test_filters_by_state_department_and_emergency(client, city, draft):
    grant_emergency_publisher(client, city.admin, city.parks_staff)
    a = draft(title="Heat emergency", emergency=True)
    draft(title="Ordinary")
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    h = city.approver.auth
    assert [x["title"] for x in client.get("/api/v1/announcements?state=submitted", headers=h).json()["items"]] == ["Heat emergency"]
    assert [x["title"] for x in client.get("/api/v1/announcements?emergency=true", headers=h).json()["items"]] == ["Heat emergency"]
    assert len(client.get("/api/v1/announcements?department=parks", headers=h).json()["items"]) == 2
    assert client.get("/api/v1/announcements?department=police", headers=h).json()["items"] == []
    r = client.get("/api/v1/announcements?state=lost", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "state"
    assert client.get("/api/v1/announcements?limit=1000", headers=h).status_code == 422

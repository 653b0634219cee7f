"""Another department's announcement or delivery answers exactly as one that does
not exist: 404, same words (finding 11). A 403 would tell an outsider it is there."""

from tests.factories import create_approved
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def approved_parks_announcement(client, city) -> tuple[dict, int]:
    a = create_approved(client, city, body="The Elm Street pool opens at 9.")
    return a, a["deliveries"][0]["id"]


def same_as_missing(theirs, missing, real_id: int, missing_id: int) -> None:
    assert theirs.status_code == missing.status_code == 404, (theirs.status_code, theirs.text)
    assert theirs.text == missing.text.replace(str(missing_id), str(real_id))


API_ROUTES = [
    ("GET", "/api/v1/announcements/{}", None),
    ("GET", "/api/v1/announcements/{}/audit", None),
    ("PATCH", "/api/v1/announcements/{}", {"title": "Changed"}),
    ("POST", "/api/v1/announcements/{}/submit", None),
    ("POST", "/api/v1/announcements/{}/approve", {"fingerprint": "0" * 64}),
    ("POST", "/api/v1/announcements/{}/reject", {"reason": "No."}),
    ("POST", "/api/v1/announcements/{}/cancel", None),
    ("POST", "/api/v1/announcements/{}/retract", None),
]


def test_every_api_route_answers_an_outsider_as_if_the_announcement_did_not_exist(client, city):
    a, delivery = approved_parks_announcement(client, city)
    missing = a["id"] + 1000
    for method, path, body in API_ROUTES:
        theirs = client.request(method, path.format(a["id"]), headers=city.police_staff.auth, json=body)
        nothing = client.request(method, path.format(missing), headers=city.police_staff.auth, json=body)
        same_as_missing(theirs, nothing, a["id"], missing)
    theirs = client.post(f"/api/v1/deliveries/{delivery}/retry", headers=city.police_staff.auth)
    nothing = client.post(f"/api/v1/deliveries/{delivery + 1000}/retry", headers=city.police_staff.auth)
    same_as_missing(theirs, nothing, delivery, delivery + 1000)
    # Its own department may see it, so may be told what it may not do.
    mine = client.post(f"/api/v1/deliveries/{delivery}/retry", headers=city.parks_staff.auth)
    assert mine.status_code == 403 and "approvers" in mine.json()["detail"]
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).status_code == 200


def test_every_staff_page_answers_an_outsider_as_if_the_announcement_did_not_exist(client, city, sign_in):
    a, delivery = approved_parks_announcement(client, city)
    outsider = sign_in(city.police_staff)
    token = csrf_of(outsider.get("/staff/announcements/new").text)
    missing = a["id"] + 1000
    for suffix in ("", "/edit", "/cancel", "/retract"):
        same_as_missing(outsider.get(f"/staff/announcements/{a['id']}{suffix}", headers=HTML),
                        outsider.get(f"/staff/announcements/{missing}{suffix}", headers=HTML), a["id"], missing)
    for suffix in ("/edit", "/submit", "/cancel", "/retract", "/approve", "/reject"):
        data = {"csrf_token": token, "title": "Changed", "body": "Changed.", "confirmed": "yes", "reason": "No."}
        same_as_missing(outsider.post(f"/staff/announcements/{a['id']}{suffix}", data=data, headers=HTML),
                        outsider.post(f"/staff/announcements/{missing}{suffix}", data=data, headers=HTML),
                        a["id"], missing)
    same_as_missing(outsider.post(f"/staff/deliveries/{delivery}/retry", data={"csrf_token": token}, headers=HTML),
                    outsider.post(f"/staff/deliveries/{delivery + 1000}/retry", data={"csrf_token": token}, headers=HTML),
                    delivery, delivery + 1000)
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()["title"] == "Pool opens Saturday"

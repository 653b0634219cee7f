"""What engine tests share: channels and approved announcements made through the
API, an announcement's state as the API shows it, and waiting for the worker."""

import time


def hook_channel(client, city, receiver, name="Partner hook") -> int:
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "webhook", "name": name,
              "credentials": {"secret": receiver.secret}, "settings": {"url": receiver.url}},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def approved(client, city, channels, **body) -> dict:
    payload = {"department": "parks", "title": "Pool opens Saturday", "body": "The Elm Street pool opens at 9.", "channels": channels}
    payload.update(body)
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json=payload).json()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth, json={"fingerprint": seen})
    assert r.status_code == 200, r.text
    return r.json()


def state_of(client, city, announcement_id) -> dict:
    return client.get(f"/api/v1/announcements/{announcement_id}", headers=city.approver.auth).json()


def wait_for(predicate, timeout: float = 15, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")

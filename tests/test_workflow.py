"""The approval workflow of SPEC §3 through the HTTP API."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from civicpost.models import AuditEvent, Delivery
from tests.factories import create_channel


def _post(client, path, person, json=None):
    return client.post(path, headers=person.auth, json=json)


def _approve(client, announcement_id, person):
    """Approve the version the approver is shown, as the API asks."""
    seen = client.get(f"/api/v1/announcements/{announcement_id}", headers=person.auth).json()["fingerprint"]
    return _post(client, f"/api/v1/announcements/{announcement_id}/approve", person, {"fingerprint": seen})


def test_a_draft_goes_from_submit_to_scheduled_with_one_pending_delivery_per_channel(client, city, draft):
    publish_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    a = draft(publish_at=publish_at.isoformat())
    assert a["state"] == "draft" and a["deliveries"] == []

    r = _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    assert r.status_code == 200 and r.json()["state"] == "submitted"

    r = _approve(client, a["id"], city.approver)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "scheduled"
    assert body["approved_by"] == city.approver.email
    assert body["approved_fingerprint"] == body["fingerprint"]
    deliveries = body["deliveries"]
    assert sorted(d["channel_id"] for d in deliveries) == sorted(city.parks_channels)
    assert {d["status"] for d in deliveries} == {"pending"}
    assert {datetime.fromisoformat(d["due_at"]) for d in deliveries} == {publish_at}


def test_an_announcement_without_publish_time_is_due_when_approved(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    before = datetime.now(UTC)
    body = _approve(client, a["id"], city.approver).json()
    due = datetime.fromisoformat(body["deliveries"][0]["due_at"])
    assert before - timedelta(seconds=1) <= due <= datetime.now(UTC) + timedelta(seconds=1)


def test_an_author_can_never_approve_their_own_announcement(client, city, people):
    # An approver who drafts too: the two-person rule still holds.
    from civicpost.models import Role

    writer = people.person(Role.approver, ("parks",))
    r = client.post(
        "/api/v1/announcements", headers=writer.auth,
        json={"department": "parks", "title": "Trail closed", "body": "The river trail is closed.", "channels": city.parks_channels},
    )
    a = r.json()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", writer)
    r = _approve(client, a["id"], writer)
    assert r.status_code == 403
    assert "second person" in r.json()["detail"]
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=writer.auth).json()["state"] == "submitted"


def test_staff_cannot_approve(client, city, draft, people):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    colleague = people.person("staff", ("parks",))
    r = _approve(client, a["id"], colleague)
    assert r.status_code == 403


def test_an_edit_after_approval_voids_it_and_stops_the_deliveries(client, city, draft, sessions):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    approved = _approve(client, a["id"], city.approver).json()

    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"body": "The pool opens Sunday instead."})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["state"] == "submitted"
    assert edited["approved_fingerprint"] is None
    assert edited["fingerprint"] != approved["fingerprint"]
    assert {d["status"] for d in edited["deliveries"]} == {"cancelled"}

    actions = [e["action"] for e in client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.approver.auth).json()["items"]]
    assert actions == ["create", "submit", "approve", "approval_voided", "edit"]

    # Approving again makes fresh deliveries; the voided ones never come back.
    again = _approve(client, a["id"], city.approver).json()
    statuses = sorted(d["status"] for d in again["deliveries"])
    assert statuses == ["cancelled"] * 2 + ["pending"] * 2


def test_an_edit_that_changes_nothing_keeps_the_approval(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    _approve(client, a["id"], city.approver)
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"title": a["title"]})
    assert r.json()["state"] == "scheduled"


def test_approval_refuses_content_that_changed_after_the_approver_looked(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["fingerprint"]
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"title": "Pool opens Sunday"})
    r = _post(client, f"/api/v1/announcements/{a['id']}/approve", city.approver, {"fingerprint": seen})
    assert r.status_code == 409
    assert "changed after you looked" in r.json()["detail"]


def test_a_rejection_carries_the_reason_and_an_edit_returns_it_to_draft(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    r = _post(client, f"/api/v1/announcements/{a['id']}/reject", city.approver, {"reason": "Say which entrance is open."})
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    assert r.json()["rejection_reason"] == "Say which entrance is open."
    edited = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"body": "Use the north entrance."}).json()
    assert edited["state"] == "draft"


def test_reject_needs_a_reason(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    r = _post(client, f"/api/v1/announcements/{a['id']}/reject", city.approver, {"reason": "   "})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason"


def test_a_transition_from_the_wrong_state_is_a_conflict(client, city, draft):
    a = draft()
    r = _approve(client, a["id"], city.approver)
    assert r.status_code == 409
    assert "it is draft" in r.json()["detail"]
    r = _post(client, f"/api/v1/announcements/{a['id']}/retract", city.approver)
    assert r.status_code == 409


def test_cancel_stops_every_pending_delivery(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    _approve(client, a["id"], city.approver)
    # The author may no longer cancel once approved; an approver may.
    assert _post(client, f"/api/v1/announcements/{a['id']}/cancel", city.parks_staff).status_code == 409
    r = _post(client, f"/api/v1/announcements/{a['id']}/cancel", city.approver)
    assert r.status_code == 200
    assert r.json()["state"] == "cancelled"
    assert {d["status"] for d in r.json()["deliveries"]} == {"cancelled"}


def test_the_author_can_cancel_before_approval(client, city, draft):
    a = draft()
    r = _post(client, f"/api/v1/announcements/{a['id']}/cancel", city.parks_staff)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


def test_submitting_without_channels_says_to_choose_one(client, city, draft):
    a = draft(channels=[])
    r = _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    assert r.status_code == 422
    assert "at least one channel" in r.json()["detail"]


def test_every_transition_is_in_the_audit_trail_with_actor_time_and_fingerprint(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    approved = _approve(client, a["id"], city.approver).json()
    _post(client, f"/api/v1/announcements/{a['id']}/cancel", city.approver)
    items = client.get(f"/api/v1/announcements/{a['id']}/audit", headers=city.parks_staff.auth).json()["items"]
    assert [(e["action"], e["actor"]) for e in items] == [
        ("create", city.parks_staff.email),
        ("submit", city.parks_staff.email),
        ("approve", city.approver.email),
        ("cancel", city.approver.email),
    ]
    approve = items[2]
    assert approve["fingerprint"] == approved["approved_fingerprint"]
    assert datetime.fromisoformat(approve["at"]).utcoffset() is not None
    times = [datetime.fromisoformat(e["at"]) for e in items]
    assert times == sorted(times)


def test_approval_happens_once_even_when_asked_twice(client, city, draft, sessions):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    assert _approve(client, a["id"], city.approver).status_code == 200
    assert _approve(client, a["id"], city.approver).status_code == 409
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == len(city.parks_channels)
        assert session.scalar(select(func.count()).where(AuditEvent.action == "approve")) == 1


def test_an_approver_who_rewrites_someone_elses_announcement_cannot_approve_it(client, city, draft, people):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth,
                     json={"title": "Pool closed all summer", "body": "The Elm Street pool will not open this year."})
    assert r.status_code == 200 and r.json()["state"] == "submitted"

    r = _approve(client, a["id"], city.approver)
    assert r.status_code == 403
    assert r.json()["detail"] == "you changed this announcement; a second person who did not write or change it must approve it"
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "submitted"
    # A second person who neither wrote nor changed it may.
    deputy = people.person("approver", email="deputy@city.example")
    r = _approve(client, a["id"], deputy)
    assert r.status_code == 200 and r.json()["approved_by"] == deputy.email


def test_an_approver_whose_edit_voided_their_approval_cannot_approve_the_new_words(client, city, draft, people):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    assert _approve(client, a["id"], city.approver).status_code == 200
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth,
                     json={"body": "The pool is closed; come to the lake instead."})
    assert r.status_code == 200 and r.json()["state"] == "submitted"

    r = _approve(client, a["id"], city.approver)
    assert r.status_code == 403 and "did not write or change it" in r.json()["detail"]
    deputy = people.person("approver")
    assert _approve(client, a["id"], deputy).status_code == 200


def test_contributors_count_from_the_last_approval_so_an_approved_editor_may_review_later_changes(client, city, draft, people):
    deputy = people.person("approver")
    a = draft()
    client.patch(f"/api/v1/announcements/{a['id']}", headers=deputy.auth, json={"body": "Opens Saturday at 10 a.m."})
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    assert _approve(client, a["id"], deputy).status_code == 403  # changed before any approval
    assert _approve(client, a["id"], city.approver).status_code == 200  # a second person saw the deputy's words
    # The author changes it again: the deputy's earlier words were approved, the author's new ones were not.
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"body": "Opens Sunday at 10 a.m."})
    assert _approve(client, a["id"], deputy).status_code == 200


def test_approving_without_the_fingerprint_says_where_to_find_it(client, city, draft):
    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    for body in (None, {}, {"fingerprint": None}):
        r = _post(client, f"/api/v1/announcements/{a['id']}/approve", city.approver, body)
        assert r.status_code == 422, body
        assert r.json()["detail"].startswith("send the fingerprint of what you reviewed")
        assert f"GET /api/v1/announcements/{a['id']}" in r.json()["detail"]
    r = _post(client, f"/api/v1/announcements/{a['id']}/approve", city.approver, {"fingerprint": "not-a-fingerprint"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fingerprint"
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "submitted"


def test_the_openapi_document_says_approval_needs_the_fingerprint(client):
    document = client.get("/openapi.json").json()
    body = document["paths"]["/api/v1/announcements/{announcement_id}/approve"]["post"]["requestBody"]
    assert body["required"] is True
    schema = document["components"]["schemas"]["ApproveIn"]
    assert schema["required"] == ["fingerprint"] and schema["properties"]["fingerprint"]["type"] == "string"


def test_submitting_with_a_blocking_problem_is_refused_with_the_problems_listed(client, city, draft):
    x = create_channel(client, city.admin, "x")
    a = draft(body="The Elm Street pool opens Saturday. " * 12, channels=[x])
    r = _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    assert r.status_code == 422
    assert r.json()["detail"] == "this announcement cannot be submitted until these problems are fixed"
    problem = r.json()["errors"][0]
    assert problem["field"] == f"renditions.{x}" and "X allows 280" in problem["message"]
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()["state"] == "draft"
    # Fixed, it goes through.
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"body": "Opens Saturday."})
    assert _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff).status_code == 200


def test_approval_is_refused_while_a_blocking_problem_remains(client, city, draft):
    x = create_channel(client, city.admin, "x")
    a = draft(body="Opens Saturday.", channels=[x])
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    # An edit of a submitted announcement keeps it submitted, problems and all.
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                 json={"body": "The Elm Street pool opens Saturday. " * 12})
    r = _approve(client, a["id"], city.approver)
    assert r.status_code == 422 and "cannot be approved" in r.json()["detail"]
    assert "X allows 280" in r.json()["errors"][0]["message"]


def test_a_retried_delivery_goes_back_to_the_queue_and_after_unknown_the_platform_is_asked_where_it_can_tell(
    client, city, draft, sessions
):
    from sqlalchemy import update

    from civicpost.db import transaction
    from civicpost.models import Announcement, State

    a = draft()
    _post(client, f"/api/v1/announcements/{a['id']}/submit", city.parks_staff)
    deliveries = {d["channel_id"]: d["id"] for d in _approve(client, a["id"], city.approver).json()["deliveries"]}
    feed, hook = (deliveries[c] for c in city.parks_channels)  # the feed can be asked; a webhook cannot

    def give_up(status: str, *delivery_ids: int) -> None:
        with transaction(sessions) as session:
            session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids)).values(status=status, attempts=8))
            session.execute(update(Announcement).where(Announcement.id == a["id"]).values(state=State.failed))

    give_up("unknown", feed, hook)
    assert _post(client, f"/api/v1/deliveries/{feed}/retry", city.parks_staff).status_code == 403
    for delivery_id in (feed, hook):
        r = _post(client, f"/api/v1/deliveries/{delivery_id}/retry", city.approver)
        assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["attempts"] == 0
    with sessions() as session:
        assert session.get(Delivery, feed).reconcile is True and session.get(Delivery, hook).reconcile is False
    assert client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()["state"] == "publishing"
    assert _post(client, f"/api/v1/deliveries/{feed}/retry", city.approver).status_code == 409  # pending already

    give_up("failed", feed)
    assert _post(client, f"/api/v1/deliveries/{feed}/retry", city.approver).status_code == 200
    with sessions() as session:
        assert session.get(Delivery, feed).reconcile is False  # a failed send posted nothing
        retries = session.scalar(select(func.count()).where(AuditEvent.action == "delivery.retry"))
    assert retries == 3

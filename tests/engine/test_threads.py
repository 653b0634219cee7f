"""A thread that fails part-way is continued, never restarted: no part twice, none lost."""

import responses
from sqlalchemy import update

from civicpost.db import transaction, utcnow
from civicpost.engine import claims
from civicpost.engine.worker import Worker
from civicpost.models import Delivery
from tests.engine.observing import state_of
from tests.factories import create_approved
from tests.platforms.recorded.x import X_BASE, X_CREDENTIALS, x_problem, x_tweet

TWEETS = f"{X_BASE}/2/tweets"


def test_a_thread_that_failed_after_its_first_part_continues_from_the_second(client, city, fast_settings, engine, sessions):
    r = client.post(
        "/api/v1/channels", headers=city.admin.auth,
        json={"department": "parks", "platform": "x", "name": "Parks on X", "credentials": X_CREDENTIALS,
              "settings": {"api_base": X_BASE, "overflow": "thread"}},
    )
    x = r.json()["id"]
    a = create_approved(client, city, channels=[x], body="The Elm Street pool opens Saturday at nine. " * 9)
    parts = a["renditions"][0]["parts"]
    assert len(parts) == 2
    worker = Worker(fast_settings, engine=engine, concurrency=1)

    def attempt() -> None:
        with transaction(sessions) as session:
            session.execute(update(Delivery).values(next_attempt_at=utcnow()))
        with transaction(worker.write_sessions) as session:
            (job,) = claims.claim_due(session, owner=worker.name, now=utcnow(), limit=5, lease_seconds=60)
        worker.process(job)

    with responses.RequestsMock() as mock:
        mock.post(TWEETS, json=x_tweet("1880000000000000001", parts[0]), status=201)
        mock.post(TWEETS, json=x_problem(503, "Service Unavailable", "Service Unavailable"), status=503)
        attempt()
        assert [c.request.url for c in mock.calls] == [TWEETS, TWEETS]
    got = state_of(client, city, a["id"])
    assert got["deliveries"][0]["status"] == "retrying"

    with responses.RequestsMock() as mock:
        mock.post(TWEETS, json=x_tweet("1880000000000000002", parts[1]), status=201)
        attempt()
        (call,) = mock.calls
        assert b"1880000000000000001" in call.request.body  # replies to the part already there
    got = state_of(client, city, a["id"])
    assert got["state"] == "published"
    assert got["deliveries"][0]["remote_id"] == "1880000000000000001"
    with sessions() as session:
        delivery = session.get(Delivery, got["deliveries"][0]["id"])
        assert delivery.rendition["remote_part_ids"] == ["1880000000000000001", "1880000000000000002"]

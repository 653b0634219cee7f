"""The Replies section of a staff announcement page: residents' replies by channel, and hiding or
removing one with a reason (approvers), against the sandbox with no script."""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from civicpost.db import transaction, utcnow
from civicpost.models import Delivery, DeliveryStatus, Reply
from civicpost.replies.collector import Collector
from civicpost.sandbox import create_sandbox_app
from civicpost.sandbox.testing import running_sandbox
from tests.factories import create_channel, create_post_with_replies, create_published_post
from tests.pages import csrf_of


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with running_sandbox(app=create_sandbox_app()) as base:
        yield base


@pytest.fixture
def with_replies(settings, sessions, city, client, sandbox) -> tuple[int, list[Reply]]:
    """An announcement posted on the sandbox's Facebook Page and Mastodon, its replies read."""
    httpx.post(f"{sandbox}/_sandbox/faults", json={"clear": True})
    facebook = create_channel(client, city.admin, "facebook", base=sandbox, name="Parks Facebook")
    mastodon = create_channel(client, city.admin, "mastodon", base=sandbox, name="Parks Mastodon")
    published_at = utcnow() - timedelta(hours=2)
    first = create_published_post(sessions, city, channel_id=facebook, published_at=published_at,
                                  remote_id=create_post_with_replies(sandbox, "facebook", at_least=2))
    with transaction(sessions) as session:
        delivery = session.get(Delivery, first)
        assert delivery is not None
        # The same announcement went to Mastodon too.
        second = Delivery(key=str(uuid.uuid4()), announcement_id=delivery.announcement_id, channel_id=mastodon,
                          status=DeliveryStatus.published, fingerprint="f" * 64, rendition={},
                          due_at=published_at, next_attempt_at=published_at, published_at=published_at,
                          remote_id=create_post_with_replies(sandbox, "mastodon", at_least=2))
        session.add(second)
        session.flush()
        delivery_ids = [first, second.id]
    Collector(settings, sessions, name="worker-a").run_once(now=utcnow())
    with sessions() as session:
        first = session.get(Delivery, delivery_ids[0])
        assert first is not None
        announcement_id = first.announcement_id
        found = list(session.scalars(select(Reply).where(Reply.delivery_id.in_(delivery_ids)).order_by(Reply.id)))
    assert found
    return announcement_id, found


def test_staff_see_the_replies_grouped_by_channel_with_author_time_text_and_link(sign_in, city, with_replies):
    announcement_id, found = with_replies
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{announcement_id}")
    assert page.status_code == 200
    html = page.text
    assert '<h2 id="replies-heading"' in html
    for reply in found:
        assert f'id="reply-{reply.id}"' in html and reply.author_name in html
    assert html.index("Parks Facebook") < html.index("Parks Mastodon")  # one group per channel
    assert "View on Facebook" in html and "View on Mastodon" in html
    assert all(r.author_handle in html for r in found if r.platform == "mastodon")
    assert not any(r.author_handle in html for r in found if r.platform == "facebook")  # an id, not a handle
    assert "/staff/replies/" not in html  # ordinary staff get no hide or remove form
    approver_page = sign_in(city.approver).get(f"/staff/announcements/{announcement_id}").text
    facebook_reply = next(r for r in found if r.platform == "facebook")
    mastodon_reply = next(r for r in found if r.platform == "mastodon")
    assert f'action="/staff/replies/{facebook_reply.id}/moderate"' in approver_page
    assert f'action="/staff/replies/{mastodon_reply.id}/moderate"' not in approver_page
    assert "Mastodon does not let an account hide" in approver_page


def test_an_approver_hides_a_reply_from_the_page_and_the_page_says_who_when_and_why(sign_in, city, sessions,
                                                                                    with_replies):
    announcement_id, found = with_replies
    reply = next(r for r in found if r.platform == "facebook")
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{announcement_id}")
    r = browser.post(f"/staff/replies/{reply.id}/moderate",
                     data={"csrf_token": csrf_of(page.text), "action": "hide", "reason": "Shares a phone number"})
    assert r.status_code == 200 and "Hidden on the platform" in r.text
    assert "Shares a phone number" in r.text and "Hidden</strong>" in r.text
    assert "Hid a resident&#39;s reply: “Shares a phone number” on Facebook" in r.text  # in the history too
    with sessions() as session:
        kept = session.get(Reply, reply.id)
        assert kept is not None and kept.hidden_at is not None and kept.hide_reason == "Shares a phone number"


def test_a_missing_reason_is_said_and_nothing_is_hidden(sign_in, city, sessions, with_replies):
    announcement_id, found = with_replies
    reply = next(r for r in found if r.platform == "facebook")
    browser = sign_in(city.approver)
    page = browser.get(f"/staff/announcements/{announcement_id}")
    r = browser.post(f"/staff/replies/{reply.id}/moderate",
                     data={"csrf_token": csrf_of(page.text), "action": "remove", "reason": " "})
    assert r.status_code == 200 and "a reason is required" in r.text
    with sessions() as session:
        kept = session.get(Reply, reply.id)
        assert kept is not None and kept.removed_at is None


def test_another_department_cannot_reach_a_reply_and_a_form_without_its_token_is_refused(sign_in, city, with_replies):
    announcement_id, found = with_replies
    outsider = sign_in(city.police_staff)
    page = outsider.get("/staff/announcements")
    r = outsider.post(f"/staff/replies/{found[0].id}/moderate",
                      data={"csrf_token": csrf_of(page.text), "action": "hide", "reason": "x"})
    assert r.status_code == 404
    assert sign_in(city.approver).post(f"/staff/replies/{found[0].id}/moderate",
                                       data={"action": "hide", "reason": "x"}).status_code == 403

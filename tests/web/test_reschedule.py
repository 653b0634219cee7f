"""Moving an announcement on the calendar: a form for keyboards (and where a drag lands) that says when
the move sends an approved announcement back for approval."""

import re

from civicpost.models import Announcement, Delivery, DeliveryStatus, State
from tests.factories import create_approved, create_draft, set_outcome
from tests.pages import csrf_of

HTML = {"accept": "text/html"}
JULY_4 = "2030-07-04T09:00:00-04:00"


def stored(sessions, announcement_id):
    with sessions() as session:
        a = session.get(Announcement, announcement_id)
        statuses = sorted(d.status for d in session.query(Delivery).filter_by(announcement_id=announcement_id))
        return a.state, a.publish_at, statuses


def test_moving_an_approved_announcement_says_first_that_it_goes_back_for_approval(sign_in, city, client, sessions):
    a = create_approved(client, city, publish_at=JULY_4)
    staff = sign_in(city.parks_staff)
    week = staff.get("/staff/calendar?view=week&date=2030-07-04").text
    assert f'href="/staff/announcements/{a["id"]}/reschedule"' in week and 'draggable="true"' in week

    form = staff.get(f"/staff/announcements/{a['id']}/reschedule").text
    assert "It is approved." in form and "Moving it sends it back for approval" in form
    assert 'value="2030-07-04T09:00"' in form and "Move it and send it back for approval" in form

    moved = staff.post(f"/staff/announcements/{a['id']}/reschedule",
                       data={"csrf_token": csrf_of(form), "publish_at": "2030-07-06T14:30"}, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/staff/calendar?view=week&date=2030-07-06"
    state, publish_at, statuses = stored(sessions, a["id"])
    assert state == State.submitted and statuses == [DeliveryStatus.cancelled, DeliveryStatus.cancelled]
    assert publish_at.isoformat() == "2030-07-06T18:30:00+00:00"
    shown = staff.get(moved.headers["location"]).text
    assert "Moved “Pool opens Saturday” to Sat 6 Jul 2030, 2:30 p.m. EDT." in shown
    assert "back in the approval queue" in shown


def test_a_drag_to_another_day_opens_the_form_with_that_day_and_the_same_time(sign_in, city, client):
    a = create_approved(client, city, publish_at=JULY_4)
    form = sign_in(city.approver).get(f"/staff/announcements/{a['id']}/reschedule?date=2030-07-09").text
    assert 'value="2030-07-09T09:00"' in form
    junk = sign_in(city.approver).get(f"/staff/announcements/{a['id']}/reschedule?date=not-a-day").text
    assert 'value="2030-07-04T09:00"' in junk


def test_a_draft_moves_without_a_warning_and_stays_a_draft(sign_in, city, client, sessions):
    a = create_draft(client, city.parks_staff, channels=city.parks_channels, publish_at=JULY_4)
    staff = sign_in(city.parks_staff)
    form = staff.get(f"/staff/announcements/{a['id']}/reschedule").text
    assert "It is approved." not in form and ">Move it</button>" in form
    staff.post(f"/staff/announcements/{a['id']}/reschedule",
               data={"csrf_token": csrf_of(form), "publish_at": "2030-07-05T08:00"})
    state, publish_at, _ = stored(sessions, a["id"])
    assert state == State.draft and publish_at.isoformat() == "2030-07-05T12:00:00+00:00"


def test_wrong_times_are_refused_with_what_to_fix_and_nothing_changes(sign_in, city, client, sessions):
    a = create_approved(client, city, publish_at=JULY_4)
    staff = sign_in(city.parks_staff)
    token = csrf_of(staff.get(f"/staff/announcements/{a['id']}/reschedule").text)
    for value, said in (("", "Enter the new date and time"), ("next tuesday", "Enter a date and time"),
                        ("2031-03-09T02:30", "does not exist"), ("2020-01-01T09:00", "past"),
                        ("9999-01-01T09:00", "Choose a date within")):
        answer = staff.post(f"/staff/announcements/{a['id']}/reschedule", data={"csrf_token": token, "publish_at": value})
        assert answer.status_code == 422, (value, answer.text)
        assert said in answer.text, (value, re.findall(r'class="error-text"[^>]*>(.*?)</p>', answer.text))
        assert 'role="alert"' in answer.text
    assert stored(sessions, a["id"])[0] == State.scheduled


def test_only_what_a_person_may_edit_can_be_moved(sign_in, city, client, sessions):
    a = create_approved(client, city, publish_at=JULY_4)
    police = sign_in(city.police_staff)
    assert police.get(f"/staff/announcements/{a['id']}/reschedule", headers=HTML).status_code == 404
    set_outcome(sessions, a["id"], State.published, DeliveryStatus.published)
    gone = sign_in(city.approver).get(f"/staff/announcements/{a['id']}/reschedule", headers=HTML)
    assert gone.status_code == 409 and "can no longer be moved" in gone.text
    week = sign_in(city.approver).get("/staff/calendar?view=week&date=2030-07-04").text
    assert "/reschedule" not in week


def test_moving_needs_the_forms_token(sign_in, city, client, sessions):
    a = create_approved(client, city, publish_at=JULY_4)
    answer = sign_in(city.parks_staff).post(f"/staff/announcements/{a['id']}/reschedule",
                                            data={"publish_at": "2030-07-06T14:30"})
    assert answer.status_code == 403
    assert stored(sessions, a["id"])[0] == State.scheduled


def test_a_drop_on_an_hour_cell_opens_the_form_at_that_day_and_hour_with_the_minutes_kept(sign_in, city, client):
    a = create_approved(client, city, publish_at="2030-07-04T09:45:00-04:00")
    approver = sign_in(city.approver)
    form = approver.get(f"/staff/announcements/{a['id']}/reschedule?date=2030-07-09&hour=15").text
    assert 'value="2030-07-09T15:45"' in form and "It is approved." in form
    assert 'href="/staff/calendar?view=week&amp;date=2030-07-04">Keep it where it is' in form
    same_day = approver.get(f"/staff/announcements/{a['id']}/reschedule?hour=0").text
    assert 'value="2030-07-04T00:45"' in same_day
    for hour in ("24", "-1", "²", "noon"):
        wrong = approver.get(f"/staff/announcements/{a['id']}/reschedule?date=2030-07-09&hour={hour}", headers=HTML)
        assert wrong.status_code == 422 and "a whole number from 0 to 23" in wrong.text, hour

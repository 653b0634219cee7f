"""The public pages of an emergency alert: unmistakable while in effect, ended after its expiry, first on the home."""

import datetime as dt

from civicpost.models import DeliveryStatus, State
from tests.factories import create_approved, create_published_alert, end_alert, make_alert, set_outcome


def test_an_alert_in_effect_shows_a_banner_in_words_with_instruction_area_and_expiry(client, city, sessions):
    a = create_published_alert(client, city, sessions)
    page = client.get(f"/announcements/{a['id']}")
    assert page.status_code == 200
    banner = page.text[page.text.index('class="alert-banner"'):page.text.index("</section>")]
    assert "Emergency alert: Severe · Water main break" in banner and "<svg" in banner
    assert "Boil tap water for one minute before drinking." in banner
    assert "East side, Elm to Oak Street" in banner
    assert "In effect until" in banner and "<time datetime=" in banner
    assert f'href="/alerts/{a["id"]}.xml"' in banner
    assert "ended" not in page.text


def test_after_its_expiry_the_page_says_the_alert_has_ended(client, city, sessions):
    a = create_published_alert(client, city, sessions)
    end_alert(sessions, a["id"], dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    page = client.get(f"/announcements/{a['id']}")
    assert 'class="alert-banner"' not in page.text
    assert "This emergency alert (Water main break) ended" in page.text


def test_the_home_lists_alerts_in_effect_first_and_not_again_below(client, city, sessions):
    alert = create_published_alert(client, city, sessions, title="Boil water notice")
    later = create_approved(client, city, title="Pool opens Saturday")
    set_outcome(sessions, later["id"], State.published, DeliveryStatus.published,
                published_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    home = client.get("/").text
    assert home.index("Emergency alerts in effect") < home.index("Boil water notice") < home.index("Pool opens Saturday")
    assert home.count(f'href="/announcements/{alert["id"]}"') == 1
    end_alert(sessions, alert["id"], dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    home = client.get("/").text
    assert "Emergency alerts in effect" not in home
    assert home.index("Pool opens Saturday") < home.index("Boil water notice")


def test_an_exercise_says_so_in_its_banner(client, city, sessions):
    a = create_published_alert(client, city, sessions, alert=make_alert(exercise=True))
    assert "Exercise — Emergency alert: Severe · Water main break" in client.get(f"/announcements/{a['id']}").text


def test_an_alert_sent_only_to_social_channels_is_in_the_feed_of_alerts_but_not_linked_to_a_page(client, city, sessions):
    hook = city.parks_channels[1]
    a = create_published_alert(client, city, sessions, channels=[hook])
    assert client.get(f"/announcements/{a['id']}").status_code == 404  # the city's site never carried it
    assert "Emergency alerts in effect" not in client.get("/").text
    feed = client.get("/alerts.atom").text
    assert f"/alerts/{a['id']}.xml" in feed and f'/announcements/{a["id"]}"' not in feed
    assert client.get(f"/alerts/{a['id']}.xml").status_code == 200

"""/staff/announcements: search over title and text, filters, scope and keyset pages, on both databases."""

import re
from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from civicpost.drafting import search as searching
from civicpost.models import Announcement
from tests.factories import create_channel, create_draft, create_submitted, create_written

HTML = {"accept": "text/html"}
NEW_YORK = ZoneInfo("America/New_York")
LIST = "/staff/announcements"


def titles(html: str) -> list[str]:
    """The titles listed, in order."""
    return [unescape(t) for t in re.findall(r'<a href="/staff/announcements/\d+">([^<]*)</a></th>', html)]


def listed_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/staff/announcements/(\d+)">[^<]*</a></th>', html)]


def link(html: str, text: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)"(?: rel="\w+")?>{text}</a>', html)
    return unescape(match.group(1)) if match else None


def search(client, q: str, **filters: str):
    return client.get(LIST, params={"q": q, **filters}, headers=HTML)


@pytest.fixture
def parks(sign_in, city):
    return sign_in(city.parks_staff)


@pytest.fixture
def police(sign_in, city):
    return sign_in(city.police_staff)


@pytest.fixture
def approver(sign_in, city):
    return sign_in(city.approver)


def test_the_page_asks_a_signed_out_browser_to_sign_in_first(client):
    r = client.get(LIST, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/staff/login?next=/staff/announcements")


def test_the_page_has_the_search_box_and_filters_of_the_spec_and_is_in_the_staff_navigation(parks):
    html = parks.get(LIST, headers=HTML).text
    assert '<input id="list-q" type="search" name="q"' in html
    for name in ("department", "state", "platform", "author", "from", "to"):
        assert f'name="{name}"' in html
    assert '<form method="get" action="/staff/announcements"' in html
    assert re.search(r'<a href="/staff/announcements" aria-current="page">(<svg .*?</svg>)?Announcements</a>', html)


def test_search_finds_words_in_the_title_and_in_the_text_in_any_case(client, city, parks):
    create_draft(client, city.parks_staff, title="Pool opens Saturday", body="Lifeguards on duty all day.")
    create_draft(client, city.parks_staff, title="Library hours", body="The reading room closes at NOON.")
    assert titles(search(parks, "pool").text) == ["Pool opens Saturday"]
    assert titles(search(parks, "lifeguards").text) == ["Pool opens Saturday"]
    assert titles(search(parks, "noon reading").text) == ["Library hours"]
    assert titles(search(parks, "pool noon").text) == []  # every word must be there


def test_search_finds_accented_and_other_scripts_and_keeps_accents_apart(client, city, parks):
    create_draft(client, city.parks_staff, title="École du parc", body="Fermée pour la journée.")
    create_draft(client, city.parks_staff, title="Straßenfest", body="Πισίνα κλειστή. पार्क बंद है।")
    assert titles(search(parks, "ÉCOLE").text) == ["École du parc"]
    assert titles(search(parks, "fermée").text) == ["École du parc"]
    assert titles(search(parks, "straßenfest").text) == ["Straßenfest"]
    assert titles(search(parks, "πισίνα").text) == ["Straßenfest"]
    assert titles(search(parks, "पार्क").text) == ["Straßenfest"]
    # The same on SQLite and PostgreSQL: an accent is part of the word.
    assert titles(search(parks, "ecole").text) == []


def test_the_index_follows_edits(client, city, parks):
    a = create_draft(client, city.parks_staff, title="Leaf pickup", body="Bags at the curb.")
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                     json={"title": "Snow removal", "body": "Plows start at dawn."})
    assert r.status_code == 200, r.text
    assert titles(search(parks, "leaf").text) == [] and titles(search(parks, "curb").text) == []
    assert titles(search(parks, "plows").text) == ["Snow removal"]


def test_staff_never_see_another_departments_announcements_even_by_search(client, city, parks, police, approver):
    create_draft(client, city.parks_staff, title="Pool opens Saturday", body="Parks news.")
    create_draft(client, city.police_staff, title="Pool parking closed", body="Police news.",
                 department="police", channels=city.police_channels)
    assert titles(parks.get(LIST, headers=HTML).text) == ["Pool opens Saturday"]
    assert titles(search(police, "pool").text) == ["Pool parking closed"]
    assert titles(search(parks, "parking").text) == []
    assert titles(search(parks, "police").text) == []
    assert sorted(titles(search(approver, "pool").text)) == ["Pool opens Saturday", "Pool parking closed"]


def test_another_departments_slug_is_refused_like_an_unknown_one(client, city, parks, approver):
    create_draft(client, city.police_staff, title="Police only", department="police", channels=city.police_channels)
    for slug in ("police", "no-such-department"):
        r = parks.get(LIST, params={"department": slug}, headers=HTML)
        assert r.status_code == 422 and "is not a department you can see; choose one from the list" in unescape(r.text)
    assert titles(approver.get(LIST, params={"department": "police"}, headers=HTML).text) == ["Police only"]
    assert titles(approver.get(LIST, params={"department": "parks"}, headers=HTML).text) == []


def test_the_state_filter(client, city, approver):
    create_draft(client, city.parks_staff, title="Still a draft")
    create_submitted(client, city, title="Sent for approval")
    assert titles(approver.get(LIST, params={"state": "submitted"}, headers=HTML).text) == ["Sent for approval"]
    assert titles(approver.get(LIST, params={"state": "draft"}, headers=HTML).text) == ["Still a draft"]
    r = approver.get(LIST, params={"state": "lost"}, headers=HTML)
    assert r.status_code == 422 and "'lost' is not a state; choose one of draft, submitted" in unescape(r.text)


def test_the_platform_filter_finds_announcements_with_a_channel_on_that_platform(client, city, parks):
    feed, webhook = city.parks_channels
    create_draft(client, city.parks_staff, title="Website only", channels=[feed])
    create_draft(client, city.parks_staff, title="Partners only", channels=[webhook])
    create_draft(client, city.parks_staff, title="Nowhere yet", channels=[])
    mastodon = create_channel(client, city.admin, "mastodon")
    create_draft(client, city.parks_staff, title="On Mastodon", channels=[mastodon, feed])
    assert titles(parks.get(LIST, params={"platform": "webhook"}, headers=HTML).text) == ["Partners only"]
    assert titles(parks.get(LIST, params={"platform": "feed"}, headers=HTML).text) == ["On Mastodon", "Website only"]
    assert titles(parks.get(LIST, params={"platform": "x"}, headers=HTML).text) == []
    r = parks.get(LIST, params={"platform": "myspace"}, headers=HTML)
    assert r.status_code == 422 and "is not a platform civicpost knows" in unescape(r.text)


def test_the_author_filter_matches_an_email_in_any_case_and_another_department_is_just_no_results(
    client, city, parks, people,
):
    colleague = people.person("staff", ("parks",), email="lee@city.example")
    create_draft(client, city.parks_staff, title="By Pat")
    create_draft(client, colleague, title="By Lee")
    create_draft(client, city.police_staff, title="By Sam", department="police", channels=city.police_channels)
    assert titles(parks.get(LIST, params={"author": "LEE@city.example"}, headers=HTML).text) == ["By Lee"]
    r = parks.get(LIST, params={"author": city.police_staff.email}, headers=HTML)
    assert r.status_code == 200 and titles(r.text) == []
    assert "No announcements match" in unescape(r.text) and "clear all filters" in unescape(r.text)


def test_the_date_filters_take_whole_days_in_the_city_zone(sessions, city, parks):
    # 23:30 on March 9 in New York is 03:30 UTC on March 10.
    create_written(sessions, city, ["Late on the ninth"], created_at=datetime(2026, 3, 9, 23, 30, tzinfo=NEW_YORK))
    create_written(sessions, city, ["On the tenth"], created_at=datetime(2026, 3, 10, 12, 0, tzinfo=NEW_YORK))
    assert titles(parks.get(LIST, params={"from": "2026-03-09", "to": "2026-03-09"}, headers=HTML).text) == [
        "Late on the ninth"]
    assert titles(parks.get(LIST, params={"from": "2026-03-10"}, headers=HTML).text) == ["On the tenth"]
    assert titles(parks.get(LIST, params={"to": "2026-03-08"}, headers=HTML).text) == []


@pytest.mark.parametrize("params, message", [
    ({"from": "yesterday"}, "is not a date; use the form 2026-03-08"),
    ({"to": "2026-02-30"}, "is not a date"),
    ({"from": "２０２６-03-08"}, "is not a date"),
    ({"from": "0001-01-01"}, "must be between 1970-01-01"),
    ({"from": "2026-03-10", "to": "2026-03-09"}, "the 'to' date is before the 'from' date"),
    ({"author": "a\x01b@city.example"}, "the author contains a control character"),
    ({"author": "a" * 400 + "@city.example"}, "use at most 320"),
    ({"department": "x" * 100}, "use at most 63"),
    ({"cursor": "not-a-cursor"}, "the cursor is not one this service gave out; start again without it"),
])
def test_bad_filter_values_answer_a_page_that_says_what_to_fix(parks, params, message):
    r = parks.get(LIST, params=params, headers=HTML)
    assert r.status_code == 422, r.text
    assert message in unescape(r.text) and "<h1>Please check what you sent</h1>" in unescape(r.text)


@pytest.mark.parametrize("q", [
    'pool"', '"pool"', '(pool', 'pool)', '*pool*', '^pool', 'pool:', '-pool', "pool\u200d", "{pool}", "'pool'",
])
def test_search_syntax_around_a_word_is_only_punctuation(client, city, parks, q):
    create_draft(client, city.parks_staff, title="Pool opens Saturday", body="Lifeguards on duty.")
    r = search(parks, q)
    assert r.status_code == 200, r.text
    assert titles(r.text) == ["Pool opens Saturday"]


@pytest.mark.parametrize("q", [
    'NEAR(', 'NEAR(pool', 'pool OR', 'AND pool', 'title:pool', '"pool" NOT lifeguards', "pool's {day}",
    "pool -- ;DROP TABLE announcements", 'pool" OR "x', "pool AND",
])
def test_search_operators_are_words_to_find_not_commands(client, city, parks, q):
    create_draft(client, city.parks_staff, title="Pool opens Saturday", body="Lifeguards on duty.")
    r = search(parks, q)
    assert r.status_code == 200, r.text
    assert titles(r.text) == []  # every word counts, "near", "or", "and", "title" and "not" too
    assert "No announcements match every word of" in unescape(r.text)


@pytest.mark.parametrize("q, message", [
    ("pool\x00", "the search contains a control character"),
    ("\x1b[31m", "the search contains a control character"),
    ("x" * 201, "use at most 200"),
    ('"()*:^', "the search has no letters or digits in it"),
    (" ".join(["pool"] * 13), "use at most 12"),
])
def test_search_text_no_search_can_use_is_refused_with_what_to_change(parks, q, message):
    r = search(parks, q)
    assert r.status_code == 422 and message in unescape(r.text)


def test_an_empty_search_box_lists_everything(client, city, parks):
    create_draft(client, city.parks_staff, title="Pool opens Saturday")
    assert titles(search(parks, "   ").text) == ["Pool opens Saturday"]


def test_no_announcements_at_all_says_how_to_write_one(parks):
    html = parks.get(LIST, headers=HTML).text
    assert "There are no announcements yet" in html and 'href="/staff/announcements/new"' in html


def test_older_pages_walk_every_row_exactly_once_while_rows_are_added(sessions, city, parks):
    ids = create_written(sessions, city, [f"Notice {n}" for n in range(60)])
    create_written(sessions, city, ["Police notice"], department="police")
    seen: list[int] = []
    url: str | None = LIST
    pages = 0
    while url:
        html = parks.get(url, headers=HTML).text
        seen += listed_ids(html)
        if pages == 0:
            create_written(sessions, city, ["Written during the walk"])
        url = link(html, "Older")
        pages += 1
    assert pages == 3
    assert seen == sorted(ids, reverse=True)


def test_newer_pages_lead_back_and_links_keep_the_filters(sessions, city, parks):
    ids = create_written(sessions, city, [f"Water notice {n}" for n in range(30)], body="Boil water.")
    create_written(sessions, city, ["Unrelated"])
    first = search(parks, "boil", state="draft").text
    older = link(first, "Older")
    assert older and "q=boil" in older and "state=draft" in older
    second = parks.get(older, headers=HTML).text
    assert listed_ids(second) == sorted(ids, reverse=True)[25:]
    newer = link(second, "Newer")
    assert newer and "q=boil" in newer
    back = parks.get(newer, headers=HTML).text
    assert listed_ids(back) == sorted(ids, reverse=True)[:25]
    assert link(back, "Newer") is None and link(back, "Older")


def test_the_rows_link_to_each_announcement_and_state_who_wrote_it(client, city, parks):
    a = create_draft(client, city.parks_staff, title="Tom & Jerry <b>day</b>")
    html = parks.get(LIST, headers=HTML).text
    assert f'<a href="/staff/announcements/{a["id"]}">Tom &amp; Jerry &lt;b&gt;day&lt;/b&gt;</a>' in html
    assert 'data-label="Author">pat</td>' in html and "Parks and Recreation" in html
    assert re.search(r'<span class="state state-draft"[^>]*><svg [^>]*aria-hidden="true".*?</svg>draft</span>', html)


def test_the_api_list_searches_with_q_in_the_same_scope(client, city):
    create_draft(client, city.parks_staff, title="Pool opens Saturday", body="Parks news.")
    create_draft(client, city.police_staff, title="Pool parking closed", department="police",
                 channels=city.police_channels)
    mine = client.get("/api/v1/announcements", params={"q": "POOL"}, headers=city.parks_staff.auth).json()
    assert [a["title"] for a in mine["items"]] == ["Pool opens Saturday"]
    every = client.get("/api/v1/announcements", params={"q": "pool", "limit": 1}, headers=city.approver.auth).json()
    assert [a["title"] for a in every["items"]] == ["Pool parking closed"] and every["next_cursor"]
    rest = client.get("/api/v1/announcements", params={"q": "pool", "cursor": every["next_cursor"]},
                      headers=city.approver.auth).json()
    assert [a["title"] for a in rest["items"]] == ["Pool opens Saturday"] and rest["next_cursor"] is None
    for q in ('"', "pool\x00"):
        r = client.get("/api/v1/announcements", params={"q": q}, headers=city.parks_staff.auth)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "q"


def test_a_search_reads_the_index_of_migration_0007(engine, is_postgres):
    query = select(Announcement.id).where(searching.matches(engine.dialect.name, ["pool"]))
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        if is_postgres:
            connection.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table is otherwise read whole
            plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_announcements_search" in plan, plan
        else:
            plan = " ".join(row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "VIRTUAL TABLE INDEX" in plan and "announcements_search" in plan, plan

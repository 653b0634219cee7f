"""The media library: a department's images with their alt text, reused in the draft form."""

import re

import pytest

from tests.factories import create_draft, create_media, make_png
from tests.pages import csrf_of

HTML = {"accept": "text/html"}


def upload(client, person, colour=(30, 120, 200), **form) -> str:
    r = create_media(client, person, make_png(colour), **form)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_library_lists_the_departments_images_with_alt_text_size_and_where_they_are_used(client, city, sign_in):
    image = upload(client, city.parks_staff)
    create_draft(client, city.parks_staff, media=[{"id": image, "alt_text": "Lifeguard chair by the pool"}])
    police_image = upload(client, city.police_staff, (200, 10, 10))
    page = sign_in(city.parks_staff).get("/staff/media")
    assert page.status_code == 200
    assert f'src="/media/{image}"' in page.text and police_image not in page.text
    # The first announcement to describe an image stores its alt text for next time.
    assert "Lifeguard chair by the pool" in page.text
    assert "48 × 32 pixels" in page.text and "kB" in page.text
    assert re.search(r'<a href="/staff/announcements/\d+">Pool opens Saturday</a>', page.text)
    assert re.search(r'aria-current="page">(<svg .*?</svg>)?Media</a>', page.text)


def test_an_approver_sees_every_department_and_filters_by_one(client, city, sign_in):
    parks, police = upload(client, city.parks_staff), upload(client, city.police_staff, (1, 2, 3))
    browser = sign_in(city.approver)
    everything = browser.get("/staff/media").text
    assert parks in everything and police in everything and 'name="department"' in everything
    only_police = browser.get("/staff/media?department=police").text
    assert police in only_police and parks not in only_police
    assert '<option value="police" selected>' in only_police


@pytest.mark.parametrize(("query", "status", "words"), [
    ("department=police", 403, "not a member of Police Department"),
    ("department=nowhere", 404, "no department"),
    ("department=" + "x" * 500, 404, "no department"),
    ("department=%C3%A9t%C3%A9%00", 404, "no department"),
    ("page=0", 422, "whole number"),
    ("page=%C2%B2", 422, "whole number"),
    ("page=99999999999999999999", 422, "whole number"),
])
def test_a_filter_or_page_that_names_nothing_of_yours_is_refused_with_what_to_do(
    client, city, sign_in, query, status, words
):
    r = sign_in(city.parks_staff).get(f"/staff/media?{query}", headers=HTML)
    assert r.status_code == status and words in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_a_long_library_comes_in_pages(client, city, sign_in):
    for n in range(26):
        upload(client, city.parks_staff, (n, n, n))
    browser = sign_in(city.parks_staff)
    first, second = browser.get("/staff/media").text, browser.get("/staff/media?page=2").text
    assert first.count('class="media-card"') == 24 and second.count('class="media-card"') == 2
    assert 'href="/staff/media?page=2" rel="next"' in first and 'href="/staff/media?page=1" rel="prev"' in second


def test_the_alt_text_is_written_once_on_the_images_page(client, city, sign_in):
    image = upload(client, city.parks_staff)
    browser = sign_in(city.parks_staff)
    page = browser.get(f"/staff/media/{image}")
    assert page.status_code == 200 and "no announcement yet" in page.text
    r = browser.post(f"/staff/media/{image}", data={"csrf_token": csrf_of(page.text),
                                                    "alt_text": "Children at the splash pad\r\nin summer"})
    assert r.status_code == 200 and "Alt text saved." in r.text
    assert "Children at the splash pad\nin summer</textarea>" in r.text


@pytest.mark.parametrize(("alt", "words"), [
    ("a" * 5001, "at most 5000 characters"),
    ("Pool\x00side", "invisible control character"),
    ("Pool \u202eside", "text-direction control"),
])
def test_alt_text_that_is_huge_or_holds_control_characters_is_refused_and_shown_back(client, city, sign_in, alt, words):
    image = upload(client, city.parks_staff)
    browser = sign_in(city.parks_staff)
    token = csrf_of(browser.get(f"/staff/media/{image}").text)
    r = browser.post(f"/staff/media/{image}", data={"csrf_token": token, "alt_text": alt})
    assert r.status_code == 422 and words in r.text and 'aria-invalid="true"' in r.text


def test_another_departments_image_page_answers_as_a_missing_one(client, city, sign_in):
    image = upload(client, city.parks_staff)
    outsider = sign_in(city.police_staff)
    token = csrf_of(outsider.get("/staff/media").text)
    for path in (f"/staff/media/{image}", f"/staff/media/{'0' * 64}", "/staff/media/not-an-id"):
        assert outsider.get(path, headers=HTML).status_code == 404
    r = outsider.post(f"/staff/media/{image}", data={"csrf_token": token, "alt_text": "mine now"}, headers=HTML)
    assert r.status_code == 404


def test_the_draft_form_attaches_a_library_image_with_its_stored_alt_text(client, city, sign_in, sessions):
    image = upload(client, city.parks_staff)
    browser = sign_in(city.parks_staff)
    item = browser.get(f"/staff/media/{image}")
    browser.post(f"/staff/media/{image}", data={"csrf_token": csrf_of(item.text), "alt_text": "The Elm Street pool"})
    form = browser.get("/staff/announcements/new")
    assert f'name="library" value="{image}"' in form.text and "The Elm Street pool" in form.text
    data = {"csrf_token": csrf_of(form.text), "department": "parks", "title": "Pool opens", "body": "Saturday.",
            "language": "en", "library": image, "action": "preview"}
    previewed = browser.post("/staff/announcements/new", data=data)
    assert previewed.status_code == 200
    # Now on the form as an image of its own, its alt text editable for this announcement.
    assert 'name="media-0-id" value="' + image + '"' in previewed.text
    assert re.search(r'id="media-0-alt"[^>]*>The Elm Street pool</textarea>', previewed.text)
    assert f'name="library" value="{image}"' not in previewed.text
    saved = browser.post("/staff/announcements/new", data={**data, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    got = client.get(f"/api/v1/announcements/{saved.headers['location'].rsplit('/', 1)[1]}",
                     headers=city.parks_staff.auth).json()
    assert got["media"] == [{"id": image, "alt_text": "The Elm Street pool"}]


def test_the_draft_form_refuses_a_ticked_image_of_another_department_as_one_not_in_the_library(client, city, sign_in):
    police_image = upload(client, city.police_staff, (9, 9, 9))
    browser = sign_in(city.parks_staff)
    form = browser.get("/staff/announcements/new")
    data = {"csrf_token": csrf_of(form.text), "department": "parks", "title": "Pool opens", "body": "Saturday.",
            "language": "en", "action": "save"}
    for tampered in (police_image, "not-an-id", "²" * 64):
        r = browser.post("/staff/announcements/new", data={**data, "library": tampered})
        assert r.status_code == 422 and "is not in the media library of Parks and Recreation" in r.text
        assert 'href="#library"' in r.text


def test_an_image_uploaded_again_brings_back_its_stored_alt_text(client, city, sign_in):
    image = upload(client, city.parks_staff)
    create_draft(client, city.parks_staff, media=[{"id": image, "alt_text": "Swimmers in lane three"}])
    browser = sign_in(city.parks_staff)
    form = browser.get("/staff/announcements/new")
    data = {"csrf_token": csrf_of(form.text), "department": "parks", "title": "Again", "body": "Same picture.",
            "language": "en", "action": "preview"}
    r = browser.post("/staff/announcements/new", data=data,
                     files={"image_file": ("again.png", make_png(), "image/png")})
    assert r.status_code == 200
    assert re.search(r'id="media-0-alt"[^>]*>Swimmers in lane three</textarea>', r.text)


def test_the_live_preview_shows_a_ticked_library_image_with_its_alt_text(client, city, sign_in):
    image = upload(client, city.parks_staff)
    create_draft(client, city.parks_staff, media=[{"id": image, "alt_text": "Lifeguard chair"}])
    browser = sign_in(city.parks_staff)
    token = csrf_of(browser.get("/staff/announcements/new").text)
    r = browser.post("/staff/announcements/preview", data={
        "csrf_token": token, "department": "parks", "title": "Pool", "body": "Open.", "language": "en",
        "channels": str(city.parks_channels[0]), "library": image})
    assert r.status_code == 200 and "Lifeguard chair" in r.text


def test_naming_another_department_in_the_draft_form_shows_none_of_its_images_or_their_alt_text(
    client, city, sign_in
):
    police_image = upload(client, city.police_staff, (9, 9, 9))
    create_draft(client, city.police_staff, department="police",
                 media=[{"id": police_image, "alt_text": "Officer at the crossing"}])
    browser = sign_in(city.parks_staff)
    token = csrf_of(browser.get("/staff/announcements/new").text)
    data = {"csrf_token": token, "department": "police", "title": "Mine", "body": "Text.", "language": "en"}
    for r in (browser.post("/staff/announcements/new", data={**data, "action": "preview"}),
              browser.post("/staff/announcements/new", data={**data, "action": "save", "library": police_image}),
              browser.post("/staff/announcements/preview", data={**data, "library": police_image})):
        assert police_image not in r.text and "Officer at the crossing" not in r.text



def test_an_older_image_starts_a_new_announcement_from_its_page(client, city, sign_in):
    image = upload(client, city.parks_staff)
    browser = sign_in(city.parks_staff)
    token = csrf_of(browser.get(f"/staff/media/{image}").text)
    browser.post(f"/staff/media/{image}", data={"csrf_token": token, "alt_text": "Lifeguard chair"})
    item = browser.get(f"/staff/media/{image}").text
    link = f"/staff/announcements/new?department=parks&amp;library={image}"
    assert f'href="{link}">Use in a new announcement</a>' in item
    form = browser.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    assert f'name="media-0-id" value="{image}"' in form.text
    assert re.search(r'id="media-0-alt"[^>]*>Lifeguard chair</textarea>', form.text)
    # Another department's member gets neither the link's image nor its alt text.
    other = sign_in(city.police_staff).get(link.replace("&amp;", "&"))
    assert image not in other.text and "Lifeguard chair" not in other.text

"""Text with a character that twitter-text calls invalid cannot go to X: a
blocking problem naming the character, with a way out (finding 13)."""

from civicpost import PROJECT_ROOT
from civicpost.content import ChannelView, Draft
from civicpost.rendering import Renderer
from tests.factories import create_channel


def test_a_zero_width_no_break_space_blocks_x_with_a_sentence_naming_it() -> None:
    renderer = Renderer(PROJECT_ROOT / "templates", warm=False)
    draft = Draft(title="Pool opens Saturday", body="The pool\ufeff opens at 9.", department="Parks")
    x, mastodon = (renderer.render(draft, ChannelView(id=n, platform=p, name=p)) for n, p in ((1, "x"), (2, "mastodon")))
    assert not x.fits and x.length < 280
    [problem] = [p for p in x.problems if p.code == "invalid_character"]
    assert problem.severity == "error" and problem in x.blocking
    assert "U+FEFF (zero width no-break space)" in problem.message and problem.message.startswith("X refuses")
    assert "Delete it" in (problem.suggestion or "")
    assert mastodon.fits and not [p for p in mastodon.problems if p.code == "invalid_character"]


def test_several_invalid_characters_are_named_once_each_even_when_the_post_is_also_too_long() -> None:
    renderer = Renderer(PROJECT_ROOT / "templates", warm=False)
    draft = Draft(title="Notice", body=("\ufffe word \uffff " * 40) + "\ufffe", department="Parks")
    x = renderer.render(draft, ChannelView(id=1, platform="x", name="x", settings={"overflow": "thread"}))
    codes = [p.code for p in x.problems]
    assert not x.fits and "invalid_character" in codes and "too_long" in codes and x.parts is None
    message = next(p.message for p in x.problems if p.code == "invalid_character")
    assert message.count("U+FFFE") == 1 and "U+FFFF" in message and "invisible characters" in message


def test_an_announcement_with_such_a_character_cannot_be_approved_for_x(client, city):
    x = create_channel(client, city.admin, "x")
    body = {"department": "parks", "title": "Pool opens\ufeff Saturday", "body": "At 9.", "channels": [x]}
    preview = client.post("/api/v1/previews", headers=city.parks_staff.auth, json=body).json()["renditions"][0]
    assert preview["fits"] is False and [p["code"] for p in preview["problems"]] == ["invalid_character"]
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json=body).json()
    assert a["renditions"][0]["fits"] is False
    r = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    if r.status_code == 200:  # where submitting does not check problems yet, approving does
        seen = client.get(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth).json()
        r = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                        json={"fingerprint": seen["fingerprint"]})
    assert r.status_code == 422 and [e["code"] for e in r.json()["errors"]] == ["invalid_character"]

"""The accessibility check tells drafters what makes a post hard to read, hear or follow."""

import re
import subprocess
import sys
from importlib.metadata import version

import pytest

from civicpost.content import MediaRef
from civicpost.platforms import spec
from civicpost.text.lint import lint_media, lint_text
from civicpost.text.readability import flesch_kincaid_grade
from civicpost.text.word_table import WordTable

HARD = (
    "The municipal infrastructure rehabilitation initiative necessitates comprehensive "
    "intergovernmental coordination, notwithstanding considerable budgetary constraints "
    "affecting departmental operational capabilities throughout the metropolitan jurisdiction."
)
EASY = (
    "Main Street is closed on Saturday for the parade. Use Oak Avenue instead. "
    "Buses will run on time. We hope to see you there."
)


def codes(text: str, language: str = "en") -> list[str]:
    return [p.code for p in lint_text(text, language)]


def find(problems, code: str):
    return next(p for p in problems if p.code == code)


def test_an_image_without_alt_text_blocks_approval() -> None:
    problems = lint_media(spec("x").media, spec("x").label, [MediaRef("a", "Crews repaving Main Street"), MediaRef("b", "  ")])
    problem = find(problems, "missing_alt_text")
    assert problem.severity == "error"
    assert "Image 2" in problem.message and problem.suggestion


@pytest.mark.parametrize(("platform", "limit"), [("x", 1000), ("mastodon", 1500), ("bluesky", 2000)])
def test_alt_text_over_the_platforms_limit_blocks_approval(platform: str, limit: int) -> None:
    assert lint_media(spec(platform).media, spec(platform).label, [MediaRef("a", "a" * limit)]) == []
    problem = find(lint_media(spec(platform).media, spec(platform).label, [MediaRef("a", "a" * (limit + 3))]), "alt_text_too_long")
    assert problem.severity == "error"
    assert str(limit) in problem.message and "Cut 3 characters" in (problem.suggestion or "")


def test_bluesky_counts_alt_text_in_graphemes() -> None:
    assert lint_media(spec("bluesky").media, spec("bluesky").label, [MediaRef("a", "👍🏽" * 2000)]) == []


@pytest.mark.parametrize("alt", ["IMG_1234.JPG", "DSC_0042", "photo", "An image", "picture.", "park-map.png"])
def test_alt_text_that_is_a_file_name_or_a_generic_word_is_a_warning(alt: str) -> None:
    problem = find(lint_media(spec("mastodon").media, spec("mastodon").label, [MediaRef("a", alt)]), "alt_text_not_descriptive")
    assert problem.severity == "warning" and alt in problem.message


def test_descriptive_alt_text_passes() -> None:
    assert lint_media(spec("x").media, spec("x").label, [MediaRef("a", "Photo of the new splash pad at Riverside Park")]) == []


def test_an_all_lowercase_multi_word_hashtag_gets_a_pascal_case_fix() -> None:
    problem = find(lint_text("Summer fun! #parksandrec", "en"), "hashtag_case")
    assert problem.severity == "warning"
    assert "#parksandrec → #ParksAndRec" in (problem.suggestion or "")


@pytest.mark.parametrize(("tag", "fixed"), [
    ("boilwateradvisory", "BoilWaterAdvisory"),
    ("snowemergency", "SnowEmergency"),
    ("citycouncilmeeting", "CityCouncilMeeting"),
    ("BOILWATERNOTICE", "BoilWaterNotice"),
    ("heatwarningtoday", "HeatWarningToday"),
])
def test_hashtags_split_into_words_as_wordsegment_splits_them(tag: str, fixed: str) -> None:
    import wordsegment  # its full tables (95 MB), as the check against our compact ones

    wordsegment.load()
    assert "".join(w.capitalize() for w in wordsegment.segment(tag)) == fixed
    problem = find(lint_text(f"Please share #{tag}", "en"), "hashtag_case")
    assert f"#{tag} → #{fixed}" in (problem.suggestion or "")


@pytest.mark.parametrize("text", ["#ParksAndRec", "#nyc", "#Parks", "https://city.gov/page#roadclosures"])
def test_pascal_case_single_word_and_link_fragment_hashtags_pass(text: str) -> None:
    assert "hashtag_case" not in codes(text)


def test_shouting_in_capitals_is_a_warning_with_a_sentence_case_fix() -> None:
    problem = find(lint_text("ROAD CLOSED on Main Street today.", "en"), "all_caps")
    assert problem.severity == "warning"
    assert "ROAD CLOSED" in problem.message and "Road closed" in (problem.suggestion or "")


@pytest.mark.parametrize("text", [
    "NYC DPW crews will fix the ADA ramps.",
    "URGENT: Water main break on Elm Street.",
    "Closed today. FEMA is here.",
])
def test_acronyms_and_a_single_capitalised_word_pass(text: str) -> None:
    assert "all_caps" not in codes(text)


@pytest.mark.parametrize("text", [
    "Click here https://city.gov/parade",
    "The route map is here: https://city.gov/parade",
    "Read more https://city.gov/parade",
])
def test_link_text_that_says_nothing_is_a_warning(text: str) -> None:
    assert "vague_link_text" in codes(text)


def test_link_text_that_names_the_destination_passes() -> None:
    text = "Parade route map: https://city.gov/parade\n\nMore information: https://city.gov"
    assert "vague_link_text" not in codes(text)


def test_more_than_three_emoji_is_a_warning() -> None:
    assert "too_many_emoji" in codes("Parade today! 🎉🎈🥁🎺")
    assert "too_many_emoji" not in codes("Parade today! 🎉🎈🥁")


def test_an_emoji_in_the_middle_of_a_sentence_is_a_warning() -> None:
    problem = find(lint_text("Join us 🎉 at the park on Saturday.", "en"), "emoji_in_sentence")
    assert "🎉" in problem.message


@pytest.mark.parametrize("text", [
    "Join us at the park on Saturday! 🎉",
    "📅 Saturday\n📍 Riverside Park",
    "Parade on Saturday 🎉 #SpringParade",
    "Parade on Saturday 🎉 https://city.gov/parade",
    "Food trucks wait. 🎉 Bring a chair.",
])
def test_emoji_at_the_end_or_as_a_line_marker_pass(text: str) -> None:
    assert "emoji_in_sentence" not in codes(text)


def test_text_above_grade_nine_is_a_warning_showing_the_grade() -> None:
    problem = find(lint_text(HARD, "en"), "reading_grade")
    assert problem.severity == "warning"
    assert re.search(r"grade \d+\.\d", problem.message)


def test_plain_text_and_other_languages_get_no_reading_grade() -> None:
    assert "reading_grade" not in codes(EASY)
    assert "reading_grade" not in codes(HARD, "es")


def test_text_lint_only_ever_warns() -> None:
    problems = lint_text(f"{HARD} ROAD CLOSED #parksandrec click here 🎉 and 🎈🥁🎺", "en")
    assert len(problems) >= 5
    assert {p.severity for p in problems} == {"warning"}


@pytest.mark.parametrize("text", [
    HARD,
    EASY,
    "Boil water before drinking. Bring it to a rolling boil for one minute, then let it cool.",
    "Qwzx plorbic flanquistry, notwithstanding the xylophonic municipal reverberations!",  # words not in the dictionary
    "Café hours: Monday–Friday. Naïve résumé reviewers' co-operation (re-examined) is appreciated.",
])
def test_reading_grades_are_textstats_own(text: str) -> None:
    import textstat  # with its whole pronouncing dictionary, as the check against our compact table

    assert flesch_kincaid_grade(text) == pytest.approx(textstat.flesch_kincaid_grade(text), abs=1e-9)


def test_a_word_table_answers_as_the_dict_it_replaces() -> None:
    words = {f"word{i}": float(i % 7) for i in range(5000)} | {"": 3.0, "naïve": 2.0, "two words": 9.5}
    table = WordTable(words.items(), "d")
    assert len(table) == len(words)
    for word, count in words.items():
        assert word in table
        assert table[word] == count
        assert table.get(word) == count
    for missing in ("word5000", "Word1", "naive", "two  words", " "):
        assert missing not in table
        assert table.get(missing) is None
        assert table.get(missing, 1.5) == 1.5
        with pytest.raises(KeyError):
            table[missing]
    assert 3 not in table  # not a word
    small = WordTable([("syllable", 3), ("a", 1)], "B")
    assert small["syllable"] == 3 and small["a"] == 1


def test_textstat_is_the_pinned_offline_version() -> None:
    assert version("textstat") == "0.7.8"


def test_the_reading_grade_is_computed_without_any_network_access() -> None:
    # A fresh interpreter, so nothing is cached, with every way out to the network shut.
    script = f"""
import socket
def refuse(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from civicpost.text.lint import lint_text
print([p.code for p in lint_text({HARD!r}, "en")])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "reading_grade" in result.stdout

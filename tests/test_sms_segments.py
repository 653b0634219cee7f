"""Texts within one SMS, or split at spaces into counted parts that each fit one."""

from civicpost.sms.segments import gsm7, length, parts


def test_a_text_within_160_gsm7_characters_goes_whole():
    text = "URGENT: Boil water (Water Department): https://city.example/announcements/12"
    assert parts(text) == [text]


def test_a_longer_text_is_split_at_spaces_into_parts_marked_with_their_count_each_within_one_sms():
    text = " ".join(["Boil water before drinking until the city says it ends."] * 6)
    found = parts(text)
    assert len(found) == 3 and found[0].startswith("(1/3) ") and found[2].startswith("(3/3) ")
    assert all(length(p) <= 160 for p in found)
    assert " ".join(p.split(" ", 1)[1] for p in found) == text


def test_a_character_outside_gsm7_makes_the_limit_70_and_extension_characters_take_two_places():
    assert gsm7("Café") and not gsm7("Café — ouvert")
    assert parts("ł" * 70) == ["ł" * 70] and len(parts("ł" * 71)) == 2
    assert length("{€}") == 6 and gsm7("{€}")
    assert length("🚰") == 2  # a UTF-16 pair


def test_a_word_longer_than_a_part_is_cut():
    found = parts("x" * 400)
    assert all(length(p) <= 160 for p in found) and "".join(p.split(" ", 1)[1] for p in found) == "x" * 400

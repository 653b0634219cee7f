"""Long posts become numbered threads without losing or breaking a word."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from civicpost.platforms import spec
from civicpost.text.splitting import split_thread, strip_numbering

LINK = "https://city.example.gov/roadwork"


def short(limit: int):
    return lambda s: len(s) <= limit


def fits_x(s: str) -> bool:
    return spec("x").measure(s).fits


words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Z", "Cc")), min_size=1, max_size=15)
endings = st.sampled_from(["", "", "", ".", "!", "?", ",", "。"])
separators = st.sampled_from([" ", " ", "\n", "\n\n"])
prose = st.lists(st.tuples(words, endings, separators), min_size=1, max_size=80).map(
    lambda items: "".join(w + e + sep for w, e, sep in items).strip()
)


@settings(max_examples=200)
@given(prose, st.integers(min_value=25, max_value=120))
def test_joining_the_parts_gives_back_every_word_in_order(text: str, limit: int) -> None:
    parts = split_thread(text, short(limit))
    assert all(len(part) <= limit for part in parts)
    assert " ".join(strip_numbering(p) for p in parts).split() == text.split()


@settings(max_examples=100)
@given(prose)
def test_threads_fit_x_as_x_counts_them(text: str) -> None:
    long_text = " ".join([text] * 3)
    parts = split_thread(long_text, fits_x)
    assert all(fits_x(part) for part in parts)
    assert " ".join(strip_numbering(p) for p in parts).split() == long_text.split()


def test_parts_are_numbered_one_of_n_and_the_numbering_is_counted() -> None:
    text = " ".join(f"Sentence {i} about the parade route." for i in range(30))
    parts = split_thread(text, short(100))
    assert len(parts) > 9
    for index, part in enumerate(parts, start=1):
        assert part.endswith(f" {index}/{len(parts)}")
        assert len(part) <= 100


def test_parts_break_after_sentences_when_sentences_fit() -> None:
    sentence = "The library on Elm Street opens late on Thursday for the author talk."
    parts = split_thread(" ".join([sentence] * 8), fits_x)
    assert len(parts) > 1
    for part in parts:
        assert strip_numbering(part).endswith("talk.")


def test_a_sentence_longer_than_a_part_is_split_between_words() -> None:
    text = "This sentence has many words " * 20 + "and ends here."
    parts = split_thread(text, short(80))
    assert len(parts) > 2
    assert all(re.fullmatch(r"\S(.*\S)? \d+/\d+", p, re.S) for p in parts)
    assert " ".join(strip_numbering(p) for p in parts).split() == text.split()


def test_chinese_text_breaks_after_full_stops_which_take_no_space() -> None:
    sentence = "主街周六因春季游行封闭，公交车改走橡树大道。"
    text = sentence * 20
    parts = split_thread(text, fits_x)
    assert len(parts) > 1 and all(fits_x(p) for p in parts)
    assert all(strip_numbering(p).endswith("。") for p in parts)
    assert "".join(strip_numbering(p) for p in parts) == text


def test_the_link_goes_in_the_first_part() -> None:
    body = " ".join(f"Crews will resurface block {i} of Main Street this week." for i in range(12))
    parts = split_thread(f"Road work\n\n{body}\n\n{LINK}", fits_x, keep_first=LINK)
    assert LINK in parts[0]
    assert all(LINK not in p for p in parts[1:])
    assert all(fits_x(p) for p in parts)


def test_a_word_longer_than_a_post_is_kept_whole_and_left_too_long() -> None:
    giant = "a" * 300
    parts = split_thread(f"Before the word. {giant} After the word.", fits_x)
    assert any(giant in p for p in parts)
    assert not all(fits_x(p) for p in parts)

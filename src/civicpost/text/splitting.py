"""Long text -> a numbered thread, each part fitting the platform's rule.

Parts break after a sentence where possible and between words otherwise,
never inside a word: a word (or link) too long for any part stays whole,
and the caller reports that the thread cannot fit.
"""

from collections.abc import Callable
from functools import partial

import regex

# After sentence punctuation plus whitespace, after CJK full stops (which
# take no space), or at a blank line (the title and paragraphs).
_SENTENCE_END = regex.compile(r"(?<=[.!?…])\s+|(?<=[。！？])\s*|\n\s*\n")
_WORD = regex.compile(r"\S+\s*")
_NUMBERING = regex.compile(r" \d+/\d+$")


def numbering(index: int, total: int) -> str:
    return f" {index}/{total}"


def strip_numbering(part: str) -> str:
    return _NUMBERING.sub("", part)


def _sentences(text: str) -> list[str]:
    """Pieces of text, each ending with its own trailing whitespace."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            pieces.append(text[start:match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _pack(pieces: list[str], fits: Callable[[str], bool], first_tail: str) -> list[str]:
    """Greedy packing: each part takes as many pieces as fit (found by bisection).

    A sentence too long for a part of its own is broken into words when it
    comes up, so short sentences are never measured word by word.
    """
    pieces = list(pieces)
    parts: list[str] = []
    start = 0
    while start < len(pieces):
        tail = first_tail if not parts else ""

        def part(end: int, start: int = start, tail: str = tail) -> str:
            return "".join(pieces[start:end]).strip() + tail

        if not fits(part(start + 1)):
            words = _WORD.findall(pieces[start])
            if len(words) > 1:
                pieces[start:start + 1] = words
                continue
            end = start + 1  # One word longer than a whole post: kept whole, reported by the caller.
        else:
            end, too_far = start + 1, len(pieces) + 1
            while too_far - end > 1:
                middle = (end + too_far) // 2
                end, too_far = (middle, too_far) if fits(part(middle)) else (end, middle)
        parts.append(part(end))
        start = end
    return parts


def split_thread(text: str, fits: Callable[[str], bool], *, keep_first: str | None = None) -> list[str]:
    """Split `text` into parts that each satisfy `fits`, numbered " 1/3" (counted in the length).

    `keep_first` (the link) is taken out of the text and put at the end of
    the first part, so the thread's first post carries it. When some part
    cannot fit (a single overlong word), that part is returned anyway and
    `fits` on it is False: the caller decides what to tell the drafter.
    """
    text = text.strip()
    first_tail = ""
    if keep_first and keep_first in text:
        text = text.replace(keep_first, "", 1).strip()
        first_tail = "\n\n" + keep_first
    # Reserve room for the widest numbering ("9/9", then "99/99", ...) and
    # widen until the number of parts fits the width reserved.
    width = 1
    while True:
        widest = numbering(10**width - 1, 10**width - 1)
        parts = _split(text, partial(_fits_with, fits, widest), first_tail)
        if len(parts) < 10**width:
            break
        width += 1
    return [part + numbering(i, len(parts)) for i, part in enumerate(parts, start=1)]


def _fits_with(fits: Callable[[str], bool], widest: str, text: str) -> bool:
    return fits(text + widest)


def _split(text: str, fits: Callable[[str], bool], first_tail: str) -> list[str]:
    return _pack(_sentences(text), fits, first_tail) or [first_tail.strip()]

"""Long text -> a numbered thread, each part fitting the platform's rule.

Parts break after a sentence where possible and between words otherwise,
never inside a word: a word (or link) too long for any part stays whole,
and the caller reports that the thread cannot fit.
"""

from collections.abc import Callable

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
    """Greedy packing: add pieces to a part while the part (and its tail) fits."""
    parts: list[str] = []
    current = ""
    for piece in pieces:
        tail = first_tail if not parts else ""
        candidate = current + piece
        if not current or fits(candidate.strip() + tail):
            current = candidate
            continue
        parts.append(current.strip() + tail)
        current = piece
    if current.strip() or not parts:
        parts.append(current.strip() + (first_tail if not parts else ""))
    return parts


def split_thread(text: str, fits: Callable[[str], bool], *, keep_first: str | None = None) -> list[str]:
    """Split `text` into parts that each satisfy `fits`, numbered " 1/3" (counted in the length).

    `keep_first` (the link) is taken out of the text and put at the end of
    the first part, so the thread's first post carries it. When some part
    cannot fit (a single overlong word), that part is returned anyway and
    `fits` on it is False: the caller decides what to tell the drafter.
    """
    first_tail = ""
    if keep_first and keep_first in text:
        text = text.replace(keep_first, "", 1).strip()
        first_tail = "\n\n" + keep_first
    # Reserve room for the widest numbering ("9/9", then "99/99", ...) and
    # widen until the number of parts fits the width reserved.
    width = 1
    while True:
        widest = numbering(10**width - 1, 10**width - 1)
        parts = _split(text, lambda s: fits(s + widest), first_tail)
        if len(parts) < 10**width:
            break
        width += 1
    return [part + numbering(i, len(parts)) for i, part in enumerate(parts, start=1)]


def _split(text: str, fits: Callable[[str], bool], first_tail: str) -> list[str]:
    pieces: list[str] = []
    for sentence in _sentences(text):
        tail = first_tail if not pieces else ""
        if fits(sentence.strip() + tail):
            pieces.append(sentence)
        else:
            # A sentence too long for a part of its own is packed word by word.
            pieces.extend(_WORD.findall(sentence) or [sentence])
    return _pack(pieces, fits, first_tail)

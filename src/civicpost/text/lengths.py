"""Post length, measured the way each platform measures it.

The numbers here decide whether a post is refused at approval, so every
counter errs on the side of counting too much, never too little.
"""

import importlib
import importlib.resources
import sys
import threading
import types
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import regex

# twitter-text (X's rules, and the link finder Mastodon's count uses) is imported at the first
# measure (`_twitter_text`): its emoji tables are 12 MB, and a worker that only sends what was
# measured at approval never needs them.

# X and Mastodon both replace every link with a t.co-sized placeholder.
URL_WEIGHT = 23

_GRAPHEME = regex.compile(r"\X")
# Outside this, X weighs a character 2 or may see an emoji (© and ® are emoji to X).
_X_HEAVY = regex.compile(r"[^\x00-\u10FF]|[\u00A9\u00AE]")
_LINE_ENDING = regex.compile(r"\r\n|\r")
_ASCII_SPACES = " \t\n"
_SPACE_OR_WORD = regex.compile(r"[ \t\n]+|[^ \t\n]+")


@dataclass(frozen=True)
class Measure:
    """`length` is in the platform's own unit; `limit` None means no limit."""

    length: int
    limit: int | None
    size_bytes: int | None = None
    byte_limit: int | None = None
    # Characters the platform refuses whatever the length (X: twitter-text's invalid characters).
    refused: tuple[str, ...] = ()

    @property
    def over_length(self) -> bool:
        return self.limit is not None and self.length > self.limit

    @property
    def over_bytes(self) -> bool:
        return (self.byte_limit is not None and self.size_bytes is not None
                and self.size_bytes > self.byte_limit)

    @property
    def fits(self) -> bool:
        return not (self.over_length or self.over_bytes or self.refused)


def x_length(text: str) -> int:
    """X's weighted length, from X's own conformance-tested rules (twitter-text).

    twitter-text's emoji scan costs about a millisecond per post, and
    threading measures many candidates. Nothing X weighs (a link, an emoji,
    a character) spans a space or line break, so the text is weighed word by
    word, each word once (cached) together with the space before it (which
    decides whether a bare domain is a link), and words of weight-1
    characters skip the emoji scan. A property test holds this equal to
    parse_tweet.
    """
    normalized = _LINE_ENDING.sub("\n", unicodedata.normalize("NFC", text))
    total, before = 0, ""
    for match in _SPACE_OR_WORD.finditer(normalized):
        piece = match.group(0)
        if piece[0] in _ASCII_SPACES:
            total += len(piece)
            before = piece[-1]
        else:
            total += _x_word(before, piece)
    return total


@lru_cache(maxsize=16_384)
def _x_word(before: str, word: str) -> int:
    text = before + word
    if _X_HEAVY.search(word):
        return _twitter_text().parse_tweet(text).weightedLength - len(before)
    # parse_tweet steps over as many characters as the link it found has, from
    # the link's start; where twitter-text rewrote what it found (a t.co link
    # run into more text: "яt.co/abяt.co/ab" is found as "t.co/abt.co/ab"),
    # that is fewer than the link spans, and those left over count.
    urls = links_in(text)
    return len(text) - sum(len(u["url"]) for u in urls) + URL_WEIGHT * len(urls) - len(before)


def link_spans(text: str) -> list[tuple[int, int]]:
    """Where in `text` X's rules find links (bare domains too): the (start, end)
    of each, as links_in's "indices". Worked out word by word as x_length is,
    each word once (cached) with the space before it: twitter-text's scan of a
    whole rendition cost a new draft about a twentieth of its CPU, once for each
    of its channels. A property test holds this equal to links_in."""
    spans: list[tuple[int, int]] = []
    before = ""
    for match in _SPACE_OR_WORD.finditer(text):
        piece = match.group(0)
        if piece[0] in _ASCII_SPACES:
            before = piece[-1]
            continue
        at = match.start()
        spans += [(at + start, at + end) for start, end in _word_links(before, piece)]
    return spans


@lru_cache(maxsize=16_384)
def _word_links(before: str, word: str) -> tuple[tuple[int, int], ...]:
    return tuple((u["indices"][0] - len(before), u["indices"][1] - len(before)) for u in links_in(before + word))


def x_invalid_characters(text: str) -> tuple[str, ...]:
    """The characters in `text` that make X refuse it (parse_tweet's `valid` is
    false for them at any length), each once, in order. The list is
    twitter-text's own (U+FFFE, U+FEFF, U+FFFF), so it follows X's rules."""
    _twitter_text()
    from twitter_text.regexp.invalid_chars import invalid_chars

    return tuple(dict.fromkeys(invalid_chars.findall(text)))


def warm_up() -> None:
    """Load twitter-text now (a web process at its start), not in the first preview."""
    x_length("© warm.example")


def links_in(text: str, *, without_scheme: bool = True) -> list[dict[str, Any]]:
    """The links X's rules find in `text` ("url" and "indices" each); bare domains too unless told not."""
    return _twitter_text().extract_urls_with_indices(text, extract_urls_without_protocol=without_scheme)


_importing = threading.Lock()


@cache
def _twitter_text() -> types.ModuleType:
    """twitter-text, imported with a stand-in for the one thing it wants of setuptools.

    twitter-text 3.0.0, its last release, reads its emoji list with
    `pkg_resources.resource_string` as it is imported. pkg_resources is gone
    from setuptools 81 on, and a venv of Python 3.12 or newer has no
    setuptools at all (Debian 13's python3 is 3.13): there the import failed
    and a web process could not start. Where pkg_resources is installed,
    importing it reads the metadata of every installed distribution (4 MB a
    process, for one file). The stand-in reads that file, for the import only.
    """
    with _importing:
        lent = "pkg_resources" not in sys.modules
        if lent:
            sys.modules["pkg_resources"] = _PACKAGE_FILES
        try:
            return importlib.import_module("twitter_text")
        finally:
            if lent and sys.modules.get("pkg_resources") is _PACKAGE_FILES:
                del sys.modules["pkg_resources"]


def _resource_string(module_name: str, resource: str) -> bytes:
    """pkg_resources.resource_string: a file beside the module `module_name`."""
    spec = sys.modules[module_name].__spec__
    assert spec is not None
    package = module_name if spec.submodule_search_locations is not None else spec.parent or module_name
    return importlib.resources.files(package).joinpath(resource).read_bytes()


_PACKAGE_FILES = types.ModuleType("pkg_resources", "What twitter-text asks of pkg_resources (see _twitter_text).")
_PACKAGE_FILES.resource_string = _resource_string  # type: ignore[attr-defined]


def _with_links_as(weight: int, text: str, urls: list[dict[str, Any]]) -> int:
    url_chars = sum(end - start for start, end in (u["indices"] for u in urls))
    return len(text) - url_chars + weight * len(urls)


def mastodon_length(text: str) -> int:
    """Mastodon's count: each link (with its scheme) is 23, everything else one per code point.

    Mastodon's server counts grapheme clusters but its composer counts code
    points; code points are never fewer, so a post we accept is accepted by
    both. Remote mentions (@user@host) count in full here, where Mastodon
    counts only @user: again too much rather than too little.
    """
    urls = links_in(text, without_scheme=False)
    return _with_links_as(URL_WEIGHT, text, urls)


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts them."""
    return len(_GRAPHEME.findall(text))


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    # Meta does not say which unit its 63,206 counts; UTF-16 units (what
    # JavaScript's .length gives) are never fewer than code points.
    return len(text.encode("utf-16-le")) // 2

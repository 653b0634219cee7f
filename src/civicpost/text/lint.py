"""Accessibility lint: what makes a post hard to read, hear or follow.

Errors block approval (a picture nobody can describe, alt text the platform
will cut); warnings are advice the drafter may overrule. Text checks are
cached by (text, language): a preview of ten channels mostly repeats them.
"""

from collections.abc import Iterator
from functools import cache, lru_cache

import regex
import wordsegment

from civicpost.content import MediaRef, Problem
from civicpost.media import MediaLimits
from civicpost.text import lengths
from civicpost.text.readability import flesch_kincaid_grade
from civicpost.text.readability import warm_up as _warm_readability
from civicpost.text.word_table import WordTable

MAX_GRADE = 9.0
# Below this many words a reading grade says more about the formula than the text.
MIN_WORDS_FOR_GRADE = 20
MAX_EMOJI = 3

_HASHTAG = regex.compile(r"(?<![\w&/#])#(\w*\p{L}\w*)")
_MENTION = regex.compile(r"(?<![\w/])@\w+(?:@[\w.-]+)?")
_WORD = regex.compile(r"\p{L}[\p{L}'’]*")
_SENTENCE_BREAK = regex.compile(r"[.!?…\n]")
_LINK_TEXT = regex.compile(
    r"\b(?:(?:click|tap|go|look)\s+here|read\s+more|more\s+here|link\s+in\s+bio)\b"
    r"|\b(?:here|more)\s*[:\-–—]?\s*(?=https?://)",
    regex.IGNORECASE,
)
# Pictographs shown as emoji: by default, or asked for with VS16; flags; with
# skin tones and ZWJ sequences kept as one emoji.
_EMOJI = regex.compile(
    r"(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{Regional_Indicator}{2})"
    r"(?:\p{Emoji_Modifier}|\uFE0F|\u200D\p{Extended_Pictographic}\uFE0F?)*"
)
_FILE_NAME = regex.compile(
    r"^(?:\S+\.(?:jpe?g|png|gif|webp|heic|heif|tiff?|bmp)"
    r"|(?:img|dsc|dscn|pxl|photo|image|screenshot)[\s_-]*\d[\d_ -]*)$",
    regex.IGNORECASE,
)
_GENERIC_ALT = {"image", "photo", "picture", "pic", "img", "graphic", "photograph",
                "screenshot", "alt", "alt text", "untitled", "image of", "photo of", "picture of"}


# wordsegment's full tables take 95 MB; words and word pairs this common (the
# top 67,000 words, 60,000 pairs) split hashtags the same way, in 16 MB as dicts
# and 2 MB of arrays as WordTables.
MIN_WORD_COUNT = 200_000
MIN_PAIR_COUNT = 500_000


@cache
def _segmenter() -> wordsegment.Segmenter:
    segmenter = wordsegment.Segmenter()
    segmenter.unigrams = _counts(segmenter.UNIGRAMS_FILENAME, MIN_WORD_COUNT)
    segmenter.bigrams = _counts(segmenter.BIGRAMS_FILENAME, MIN_PAIR_COUNT)
    segmenter.total = segmenter.TOTAL
    segmenter.limit = segmenter.LIMIT
    return segmenter


def _counts(filename: str, minimum: float) -> WordTable:
    return WordTable(_common(filename, minimum), "d")


def _common(filename: str, minimum: float) -> Iterator[tuple[str, float]]:
    with open(filename, encoding="utf-8") as lines:
        for line in lines:
            words, _, count = line.rstrip("\n").partition("\t")
            if float(count) >= minimum:
                yield words, float(count)


@cache
def warm_up() -> None:
    """Load word frequencies and syllable counts once, at start, not in the first preview."""
    _segmenter()
    _warm_readability()
    lengths.warm_up()


def lint_text(text: str, language: str) -> tuple[Problem, ...]:
    """Warnings about the wording of one rendition."""
    return _lint_text(text, language.split("-")[0].lower())


@lru_cache(maxsize=1024)
def _lint_text(text: str, language: str) -> tuple[Problem, ...]:
    prose = _without_urls(text)
    found = [
        _link_text(text),
        _all_caps(prose),
        *_emoji(prose),
    ]
    if language == "en":
        # Word splitting and the grade formula are English-only.
        found += [_hashtags(prose), _reading_grade(prose)]
    return tuple(p for p in found if p is not None)


def _without_urls(text: str) -> str:
    for start, end in reversed(lengths.link_spans(text)):
        text = text[:start] + text[end:]
    return text


def _hashtags(prose: str) -> Problem | None:
    warm_up()
    fixes = {}
    for tag in _HASHTAG.findall(prose):
        if tag != tag.lower() and tag != tag.upper():
            continue  # Mixed case was chosen on purpose.
        words = _segmenter().segment(tag)
        if len(words) > 1 and "".join(words) == tag.lower():
            fixes[f"#{tag}"] = "#" + "".join(w[:1].upper() + w[1:] for w in words)
    if not fixes:
        return None
    listed = ", ".join(f"{old} → {new}" for old, new in fixes.items())
    return Problem(
        "hashtag_case", "warning",
        f"Screen readers read {next(iter(fixes))} as one long word. Capitalise each word in "
        "a hashtag (PascalCase) so it can be read aloud.",
        listed,
    )


def _all_caps(prose: str) -> Problem | None:
    # A run of capitalised words within one sentence, at least two of them
    # long enough not to be acronyms (NYC, DPW, ADA), is shouting.
    plain = _MENTION.sub(" ", _HASHTAG.sub(" ", prose))
    for sentence in _SENTENCE_BREAK.split(plain):
        run: list[str] = []
        for word in [*_WORD.findall(sentence), ""]:
            if word.isupper():
                run.append(word)
                continue
            if sum(len(w) >= 4 for w in run) >= 2:
                return _shouting(" ".join(run))
            run = []
    return None


def _shouting(shouted: str) -> Problem:
    return Problem(
        "all_caps", "warning",
        f'Text in capitals ("{shouted}") is harder to read, and some screen readers '
        "spell it out letter by letter.",
        f'Write it in sentence case ("{shouted.capitalize()}"); keep capitals for acronyms '
        "such as ADA.",
    )


def _link_text(text: str) -> Problem | None:
    match = _LINK_TEXT.search(text)
    if match is None:
        return None
    return Problem(
        "vague_link_text", "warning",
        f'"{match.group(0).strip(" :-–—")}" does not say where the link goes, and not everyone '
        "clicks: people listen, tab or tap.",
        'Say what the link leads to, for example "Road closure map: https://…".',
    )


def _emoji(prose: str) -> list[Problem | None]:
    found = list(_EMOJI.finditer(prose))
    too_many = None
    if len(found) > MAX_EMOJI:
        too_many = Problem(
            "too_many_emoji", "warning",
            f"The post has {len(found)} emoji. Screen readers read each one's name aloud "
            f"(\"{found[0].group(0)}\" and more), which buries the message.",
            f"Keep at most {MAX_EMOJI} emoji.",
        )
    inside = None
    for match in found:
        # Words on both sides within one sentence; hashtags after it do not count.
        before = _SENTENCE_BREAK.split(prose[:match.start()])[-1]
        after = _HASHTAG.sub("", _SENTENCE_BREAK.split(prose[match.end():], maxsplit=1)[0])
        if regex.search(r"\w", before) and regex.search(r"\w", after):
            inside = Problem(
                "emoji_in_sentence", "warning",
                f'The emoji "{match.group(0)}" sits inside a sentence; a screen reader reads '
                "its name aloud in the middle of your words.",
                "Move emoji to the end of a sentence or line.",
            )
            break
    return [too_many, inside]


def _reading_grade(prose: str) -> Problem | None:
    plain = prose.replace("#", " ")
    if len(_WORD.findall(plain)) < MIN_WORDS_FOR_GRADE:
        return None
    warm_up()
    grade = flesch_kincaid_grade(plain)
    if grade <= MAX_GRADE:
        return None
    return Problem(
        "reading_grade", "warning",
        f"This reads at US school grade {grade:.1f} (Flesch-Kincaid); aim for grade "
        f"{MAX_GRADE:.0f} or lower so most residents can follow it.",
        "Use shorter sentences and everyday words; split long sentences in two.",
    )


def lint_media(limits: MediaLimits, name: str, media: list[MediaRef]) -> list[Problem]:
    """Alt text problems of a post's images on one platform."""
    problems: list[Problem] = []
    limit = limits.max_alt_chars
    for number, ref in enumerate(media, start=1):
        alt = ref.alt_text.strip()
        if not alt:
            problems.append(Problem(
                "missing_alt_text", "error",
                f"Image {number} has no alt text, so people using screen readers will not "
                "know what it shows.",
                "Describe what the image shows and why it matters, in a sentence or two.",
            ))
            continue
        length = limits.count_alt(alt)
        if limit is not None and length > limit:
            cut = length - limit
            problems.append(Problem(
                "alt_text_too_long", "error",
                f"Image {number}'s alt text is {length} characters; {name} allows {limit}.",
                f"Cut {cut} character{'s' if cut > 1 else ''}; put the rest in the post or on the linked page.",
            ))
        generic = regex.sub(r"^(?:an?|the)\s+", "", alt.lower().strip(" .!:"))
        if _FILE_NAME.match(alt) or generic in _GENERIC_ALT:
            problems.append(Problem(
                "alt_text_not_descriptive", "warning",
                f'Image {number}\'s alt text "{alt}" does not describe the picture.',
                'Say what it shows, for example "Crews repaving Main Street by the library".',
            ))
    return problems

"""A post's text in a preview, marked up as the platforms show it: addresses,
hashtags and @mentions stand out (as spans: a preview is not the place to
follow them), line breaks kept, everything else escaped."""

import re

from markupsafe import Markup, escape

# An address, a hashtag or a mention; a hashtag or mention starts a word.
_MARKED = re.compile(
    r"(?P<link>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])"
    r"|(?P<tag>(?<![\w&/#])#\w+)"
    r"|(?P<mention>(?<![\w/@])@\w+(?:@[\w.-]+\w)?)",
    re.UNICODE,
)


def post_markup(text: str) -> Markup:
    out, last = [], 0
    for match in _MARKED.finditer(text):
        out.append(escape(text[last:match.start()]))
        kind = match.lastgroup
        out.append(Markup('<span class="post-{}">{}</span>').format(kind, match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


_SMALL_WORDS = {"and", "of", "on", "the", "for", "in", "at", "de", "la", "el", "y", "e", "et", "und"}


def initials(name: str) -> str:
    """The avatar's letters: 'Parks and Recreation on X (sandbox)' -> 'PR'."""
    words = [w for w in re.findall(r"\w+", name) if w.lower() not in _SMALL_WORDS]
    return "".join(w[0].upper() for w in words[:2]) or "?"

"""LinkedIn's "little text" format, which a post's `commentary` is written in.

In it `\\ | { } @ [ ] ( ) < > # * _ ~` are markup (mentions, hashtags,
templates) and must be escaped with a backslash to be plain text; LinkedIn
cuts a post at the first one it cannot read, answering 201 all the same. So
every reserved character is escaped except the `#` that starts a hashtag,
which stays a hashtag people can follow.

Reading a post back, LinkedIn writes hashtags as templates
(`{hashtag|\\#|parks}`) and keeps the escapes; `plain` turns that into the
text people see, for matching a post with what was sent.
"""

import re

RESERVED = frozenset("\\|{}@[]()<>#*_~")
# One pass over what LinkedIn writes back: a hashtag template, a mention, or an escaped character.
_MARKUP = re.compile(
    r"\{hashtag\|\\#\|(?P<tag>(?:\\.|[^\\}])*)\}"
    r"|@\[(?P<name>(?:\\.|[^\\\]])*)\]\(urn:li:[a-zA-Z]+:[^)\s]+\)"
    r"|\\(?P<char>.)",
    re.DOTALL,
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _starts_hashtag(text: str, at: int) -> bool:
    """A `#` after a space or punctuation, followed by a word with a letter in it
    ("#Parks2025", not "C#" or "meeting #3"): LinkedIn makes that a hashtag."""
    before = text[at - 1] if at else " "
    if before.isalnum() or before in "_#":
        return False
    word = []
    for char in text[at + 1:]:
        if not char.isalnum():
            break
        word.append(char)
    return any(char.isalpha() for char in word)


def escape(text: str) -> str:
    """Plain text as little text: what people should read, nothing more."""
    out = []
    for at, char in enumerate(text):
        if char in RESERVED and not (char == "#" and _starts_hashtag(text, at)):
            out.append("\\")
        out.append(char)
    return "".join(out)


def plain(little: str) -> str:
    """The text people read from little text: escapes undone, hashtag templates
    as #tags, mentions as the name shown."""
    return _MARKUP.sub(_readable, little)


def _readable(match: re.Match[str]) -> str:
    if match.group("tag") is not None:
        return "#" + _ESCAPED.sub(r"\1", match.group("tag"))
    if match.group("name") is not None:
        return _ESCAPED.sub(r"\1", match.group("name"))
    return match.group("char")

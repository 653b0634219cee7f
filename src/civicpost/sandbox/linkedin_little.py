"""How LinkedIn reads a post's commentary: "little text".

`\\ | { } @ [ ] ( ) < > # * _ ~` are markup: `#word` is a hashtag,
`{hashtag|\\#|word}` one written as a template, `@[Name](urn:li:...)` a
mention, and a backslash makes the next character plain text. A reserved
character that starts none of these ends the post there: LinkedIn keeps the
text before it and answers 201 all the same, which is how an unescaped "("
loses the rest of an announcement. Written apart from the adapter's own
escaping on purpose, so the two cannot share a mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RESERVED = frozenset("\\|{}@[]()<>#*_~")
_HASHTAG = re.compile(r"#([^\W_]*[^\W\d_][^\W_]*)")
_TEMPLATE = re.compile(r"\{hashtag\|\\#\|([^\W_]+)\}")
_MENTION = re.compile(r"@\[([^\[\]\\]*)\]\((urn:li:(?:person|organization):[0-9A-Za-z_-]+)\)")


@dataclass(frozen=True)
class Segment:
    kind: str  # "text", "hashtag" or "mention"
    value: str
    urn: str = ""


def read(little: str) -> list[Segment]:
    segments: list[Segment] = []
    text: list[str] = []

    def element(segment: Segment) -> None:
        if text:
            segments.append(Segment("text", "".join(text)))
            text.clear()
        segments.append(segment)

    at = 0
    while at < len(little):
        char = little[at]
        if char == "\\" and at + 1 < len(little):
            text.append(little[at + 1])
            at += 2
            continue
        if char == "#" and not (at and little[at - 1].isalnum()) and (match := _HASHTAG.match(little, at)):
            element(Segment("hashtag", match.group(1)))
            at = match.end()
            continue
        if char == "{" and (match := _TEMPLATE.match(little, at)):
            element(Segment("hashtag", match.group(1)))
            at = match.end()
            continue
        if char == "@" and (match := _MENTION.match(little, at)):
            element(Segment("mention", match.group(1), match.group(2)))
            at = match.end()
            continue
        if char in RESERVED:
            break  # the rest of the post is dropped, silently
        text.append(char)
        at += 1
    if text:
        segments.append(Segment("text", "".join(text)))
    return segments


def shown(segments: list[Segment]) -> str:
    """What people read on the post."""
    return "".join("#" + s.value if s.kind == "hashtag" else s.value for s in segments)


def written_back(segments: list[Segment]) -> str:
    """The commentary as LinkedIn answers it: escaped, hashtags as templates."""
    parts = []
    for segment in segments:
        if segment.kind == "hashtag":
            parts.append(f"{{hashtag|\\#|{segment.value}}}")
        elif segment.kind == "mention":
            parts.append(f"@[{segment.value}]({segment.urn})")
        else:
            parts.append("".join("\\" + c if c in RESERVED else c for c in segment.value))
    return "".join(parts)

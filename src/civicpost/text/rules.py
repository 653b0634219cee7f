"""What text civicpost accepts: no control characters, no hidden direction
controls, and (for one-line fields) no line breaks, so a title can never break
an email header. Shared by every request model and every platform's fields.
"""

import re
import unicodedata
from typing import Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo

# Characters no text field takes. Control characters (C0 and C1, NUL among
# them) are invisible, break storage (PostgreSQL refuses NUL) and headers;
# bidirectional overrides and isolates make text read differently from how it
# is stored, so a reviewer approves words other than those published; a lone
# surrogate is not text at all and cannot be stored as UTF-8.
_BIDI_CONTROLS = r"\u202a-\u202e\u2066-\u2069"
_REFUSED_ANYWHERE = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff]")
# A single-line field (a title, a name, an address) also refuses line breaks
# and tabs, so it can never start a new line in an email header.
REFUSED_IN_ONE_LINE = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}\ud800-\udfff\u2028\u2029]")
_LINE_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"
_LINE_ENDINGS = re.compile(r"\r\n?")


def _what(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char in _LINE_BREAKS:
        return f"a line break ({code})"
    if char == "\t":
        return f"a tab ({code})"
    if "\u202a" <= char <= "\u202e" or "\u2066" <= char <= "\u2069":
        return f"a hidden text-direction control ({code}, {unicodedata.name(char)})"
    if "\ud800" <= char <= "\udfff":
        return f"half of a character ({code}, a lone surrogate), which is not text"
    return f"an invisible control character ({code})"


def refuse(found: re.Match[str] | None, info: ValidationInfo, *, one_line: bool) -> None:
    if found is None:
        return
    field = (info.field_name or "this text").strip("_").replace("_", " ")
    fix = "write it on one line" if one_line and found.group() in _LINE_BREAKS else "remove it"
    raise ValueError(f"{field} contains {_what(found.group())}; {fix}")


def _one_line(value: str, info: ValidationInfo) -> str:
    refuse(REFUSED_IN_ONE_LINE.search(value), info, one_line=True)
    return value


def _lines(value: str, info: ValidationInfo) -> str:
    # Windows' \r\n and old Macs' \r are the same line break as \n: keep one form.
    value = _LINE_ENDINGS.sub("\n", value)
    refuse(_REFUSED_ANYWHERE.search(value), info, one_line=False)
    return value


OneLine = AfterValidator(_one_line)
Lines = AfterValidator(_lines)


def _one_line_first(value: Any, info: ValidationInfo) -> Any:
    return _one_line(value, info) if isinstance(value, str) else value


# Checked before any stripping: a control character at the edge is refused, not quietly cut off.
OneLineFirst = BeforeValidator(_one_line_first)

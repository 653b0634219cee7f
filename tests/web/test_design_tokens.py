"""The colour tokens in site.css keep WCAG 2.1 AA in the light and the dark
scheme: text on every background it is used on reaches 4.5:1, and borders and
the focus ring that carry meaning reach 3:1. Computed from the stylesheet, so
an edit to a value cannot break contrast silently. The stylesheets that use the
tokens never write a colour of their own."""

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "civicpost" / "web" / "static"
SITE_CSS = STATIC / "site.css"
TOKEN_SHEETS = ["site.css", "staff.css", "admin.css", "directory.css", "people.css", "media.css", "listing.css"]

BACKGROUNDS = ["paper", "surface", "surface-2"]
TEXT_PAIRS = (
    [("ink", bg) for bg in [*BACKGROUNDS, "accent-surface", "alert-surface", "ok-surface", "warn-surface"]]
    + [("muted", bg) for bg in BACKGROUNDS]
    + [("accent", bg) for bg in [*BACKGROUNDS, "accent-surface"]]
    + [("alert", bg) for bg in [*BACKGROUNDS, "alert-surface"]]
    + [("ok", bg) for bg in ["paper", "surface", "ok-surface"]]
    + [("warn", bg) for bg in ["paper", "surface", "warn-surface"]]
    + [("accent-ink", "accent"), ("surface", "alert"), ("paper", "ink")]
)
NON_TEXT_PAIRS = (
    [("line-strong", bg) for bg in [*BACKGROUNDS]]
    + [("focus", bg) for bg in [*BACKGROUNDS, "accent-surface"]]
    + [("accent", bg) for bg in BACKGROUNDS]
)


def declarations(block: str) -> dict[str, str]:
    return {name: value.strip() for name, value in re.findall(r"--([a-z0-9-]+)\s*:\s*([^;]+);", block)}


def schemes() -> dict[str, dict[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", SITE_CSS.read_text(encoding="utf-8"), flags=re.S)
    light = re.match(r"\s*:root\s*\{([^}]*)\}", css)
    dark = re.search(r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{([^}]*)\}", css)
    assert light and dark, "site.css starts with :root { tokens } and redefines them for prefers-color-scheme: dark"
    base = declarations(light.group(1))
    return {"light": base, "dark": {**base, **declarations(dark.group(1))}}


def luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", digits), f"{hex_colour} is not a #rrggbb colour"

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


PAIRS = [(f, b, 4.5) for f, b in TEXT_PAIRS] + [(f, b, 3.0) for f, b in NON_TEXT_PAIRS]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("fg", "bg", "least"), PAIRS)
def test_each_token_pair_meets_wcag_aa_contrast_in_both_schemes(scheme: str, fg: str, bg: str, least: float):
    tokens = schemes()[scheme]
    ratio = contrast(tokens[fg], tokens[bg])
    assert ratio >= least, f"{scheme}: --{fg} {tokens[fg]} on --{bg} {tokens[bg]} is {ratio:.2f}:1, needs {least}:1"


def test_the_dark_scheme_redefines_every_colour_token():
    css = SITE_CSS.read_text(encoding="utf-8")
    assert "color-scheme: light dark" in css
    light = schemes()["light"]
    dark_block = re.search(r"prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{([^}]*)\}", css)
    assert dark_block
    colours = {name for name, value in light.items() if value.startswith("#")}
    assert colours - set(declarations(dark_block.group(1))) == set()


@pytest.mark.parametrize("sheet", TOKEN_SHEETS)
def test_stylesheets_take_their_colours_from_the_tokens(sheet: str):
    css = re.sub(r"/\*.*?\*/", "", (STATIC / sheet).read_text(encoding="utf-8"), flags=re.S)
    if sheet == "site.css":
        css = re.sub(r":root\s*\{[^}]*\}", "", css)
    # Print rules may force black on white paper: ink on paper is what a printer has.
    css = re.sub(r"@media print\s*\{.*\}\s*$", "", css, flags=re.S)
    written = re.findall(r"#[0-9a-fA-F]{3,8}\b|\brgba?\([^)]*\)|(?<![\w-])(?:white|black)(?![\w-])", css)
    allowed = {"rgb(0 0 0 / .12)"}  # a hover shade over a button of any colour
    assert [c for c in written if c not in allowed] == [], f"{sheet} writes colours instead of using tokens"

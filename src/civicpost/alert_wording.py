"""The words of an alert's follow-ups ("UPDATE: {body}" and the like), which the city may change per language.

Stored as one JSON value in the instance settings: `{language: {kind: template}}`.
A language without a template of some kind uses the English one, and English
without one uses the shipped default (data/alert_wording.json). Templates use
`{name}` placeholders, only those of PLACEHOLDERS (no attribute or index
access: a template is data from a person, not code), and `{{`/`}}` for braces.
"""

import json
from functools import cache
from pathlib import Path
from string import Formatter

from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.errors import Invalid
from civicpost.models import InstanceValue, User

KEY = "alert_wording"
FALLBACK = "en"
KINDS = ("update", "all_clear", "correction", "correction_body")
# What each kind may name: the follow-up's text, and the alert's headline, event and area.
PLACEHOLDERS = {
    "update": ("body", "headline", "event", "area"),
    "all_clear": ("body", "headline", "event", "area"),
    "correction": ("body", "headline", "event", "area"),
    "correction_body": ("headline", "event", "area"),
}
MAX_TEMPLATE = 1000
MAX_LANGUAGES = 30
DEFAULTS_FILE = Path(__file__).parent / "data" / "alert_wording.json"

Wording = dict[str, dict[str, str]]


@cache
def defaults() -> dict[str, str]:
    return json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))


def stored(session: Session) -> Wording:
    row = session.get(InstanceValue, KEY)
    return json.loads(row.value) if row is not None else {}


def effective(session: Session) -> Wording:
    """What the city has, with English completed from the defaults: what the API and the page show."""
    wording = stored(session)
    return {FALLBACK: {**defaults(), **wording.get(FALLBACK, {})},
            **{language: dict(kinds) for language, kinds in sorted(wording.items()) if language != FALLBACK}}


def template(session: Session, kind: str, language: str) -> str:
    wording = effective(session)
    return wording.get(language, {}).get(kind) or wording[FALLBACK][kind]


def problems(kind: str, text: str) -> list[str]:
    """What is wrong with one template, in sentences; empty when it is fine."""
    allowed = PLACEHOLDERS[kind]
    shown = ", ".join("{" + name + "}" for name in allowed)
    if not text.strip():
        return ["cannot be empty"]
    if len(text) > MAX_TEMPLATE:
        return [f"use at most {MAX_TEMPLATE} characters (it has {len(text)})"]
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        return ["has an unmatched { or }: write {{ or }} for a brace itself"]
    found = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            found.append(f"unknown placeholder {{{name}}}: use {shown}")
        elif spec or conversion:
            found.append(f"write the placeholder {{{name}}} plainly, without ! or :")
    return found


def check(wording: Wording) -> Wording:
    """The wording as given, or 422 naming every template to fix."""
    errors = []
    for language, kinds in wording.items():
        for kind, text in kinds.items():
            if kind not in KINDS:
                errors.append({"field": f"languages.{language}.{kind}",
                               "message": f"not a kind of follow-up: use {', '.join(KINDS)}"})
                continue
            errors += [{"field": f"languages.{language}.{kind}", "message": m} for m in problems(kind, text)]
    if errors:
        raise Invalid("some follow-up wording cannot be used: " + "; ".join(
            f"{e['field']} {e['message']}" for e in errors), errors=errors)
    return wording


def save(session: Session, wording: Wording, *, actor: User) -> None:
    value = json.dumps(check(wording), sort_keys=True, ensure_ascii=False)
    InstanceValue.store(session, KEY, value)
    session.flush()
    audit.record(session, actor=actor, action="alert_wording", object_type="instance", object_id=0,
                 detail={"wording": check(wording)})


def render(text: str, **values: str) -> str:
    return text.format_map(values)

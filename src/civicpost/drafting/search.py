"""Words a person searches for, and the clause that finds them in announcements' title and text.

The index is made by migration 0007: an FTS5 table on SQLite, a GIN index on
to_tsvector('simple', ...) on PostgreSQL. What a person types never reaches
FTS5's query language: it is cut into words, and each word is quoted, so
`"`, `NEAR(`, `*`, `AND` or `title:` are only text.
"""

import unicodedata
from typing import Any

import regex
from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, select, text

from civicpost.errors import Invalid
from civicpost.models import Announcement

MAX_QUERY = 200
MAX_WORDS = 12
# Letters, digits and combining marks (an Indic vowel sign is part of its
# word): everything else is a gap between words for both indexes too.
_WORD = regex.compile(r"[\p{L}\p{N}\p{M}]+")

# The same expression as the index of migration 0007, or PostgreSQL will not use it.
_POSTGRES_DOCUMENT: ColumnElement[Any] = literal_column(
    "to_tsvector('simple', announcements.title || ' ' || announcements.body)"
)


def words(query: str) -> list[str]:
    """The words of a search box's text; refuses what no search needs, saying what to change."""
    if len(query) > MAX_QUERY:
        raise Invalid(f"the search is {len(query)} characters long; use at most {MAX_QUERY}",
                      errors=[{"field": "q", "message": "too long"}])
    # Joiners (category Cf) stay: Persian and emoji need them.
    if any(unicodedata.category(c) in ("Cc", "Cs") and c != "\t" for c in query):
        raise Invalid("the search contains a control character; type it again as plain text",
                      errors=[{"field": "q", "message": "control character"}])
    found = _WORD.findall(unicodedata.normalize("NFC", query))
    if not found:
        raise Invalid("the search has no letters or digits in it; type a word from the title or the text",
                      errors=[{"field": "q", "message": "no words"}])
    if len(found) > MAX_WORDS:
        raise Invalid(f"the search has {len(found)} words; use at most {MAX_WORDS}",
                      errors=[{"field": "q", "message": "too many words"}])
    return found


def fts5_query(terms: list[str]) -> str:
    """FTS5 MATCH text finding rows with every term: each one a quoted string."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def matches(dialect: str, terms: list[str]) -> ColumnElement[bool]:
    """A WHERE clause: the announcement's title or text holds every one of `terms`."""
    if dialect == "sqlite":
        found: Select[tuple[Any]] = select(literal_column("rowid")).select_from(text("announcements_search")).where(
            text("announcements_search MATCH :search_query").bindparams(search_query=fts5_query(terms))
        )
        return Announcement.id.in_(found)
    if dialect == "postgresql":
        query = func.plainto_tsquery(literal_column("'simple'"), bindparam("search_words", " ".join(terms)))
        return _POSTGRES_DOCUMENT.op("@@")(query)
    raise NotImplementedError(f"no search index on {dialect}")

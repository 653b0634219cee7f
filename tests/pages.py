"""Reading staff pages as a browser does."""

import re


def csrf_of(html: str) -> str:
    """The CSRF token a page's form posts back."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)

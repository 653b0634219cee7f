"""Only absolute http(s) addresses may become links (see civicpost.links)."""

import pytest

from civicpost.links import http_url


@pytest.mark.parametrize("value", [
    "https://x.com/i/web/status/1", "http://receiver.example/1", "HTTPS://Mastodon.Example/@parks/2",
    "https://bsky.app/profile/parks.test/post/3k?x=1#y",
])
def test_http_and_https_addresses_are_kept(value):
    assert http_url(value) == value


@pytest.mark.parametrize("value", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x", "https:evil.example",
    "/announcements/1", "https://", "https://exa mple.com/", "https://example.com/\x00", "ftp://example.com/f",
    "", None, 42, "https://example.com/" + "a" * 2048,
])
def test_anything_else_is_dropped(value):
    assert http_url(value) is None

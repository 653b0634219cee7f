"""The sandbox's front page: what each fake platform has "published".

Server-rendered, no scripts and no CDN, so it works offline and in the
accessibility checks the rest of civicpost's pages go through.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from html import escape

from .core import PlatformFake, TimelinePost
from .ids import iso_millis

SHOWN = 100  # after a benchmark a platform may hold 100,000 posts; a page of them helps no one
_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:2px solid #444;margin-top:2rem}
ol{list-style:none;padding:0}li{border:1px solid #bbb;border-radius:.4rem;padding:.75rem;margin:.5rem 0}
.text{white-space:pre-wrap;margin:0}.meta{color:#444;font-size:.9rem}
.alt{font-size:.9rem;margin:.25rem 0 0}a{color:#0645ad}
"""


def render_timelines(platforms: Sequence[PlatformFake], *, recorded: int) -> str:
    sections = "".join(_section(p.title, p.name, p.timeline()) for p in platforms)
    nav = " · ".join(f'<a href="#{p.name}">{escape(p.title)}</a>' for p in platforms)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>civicpost sandbox</title><style>{_STYLE}</style></head><body>"
        "<header><h1>civicpost sandbox</h1>"
        f"<p>Local stand-ins for {escape(_listed([p.title for p in platforms]))}. "
        "Nothing here leaves this machine.</p>"
        f"<nav aria-label=\"Platforms\">{nav}</nav>"
        f'<p class="meta">{recorded} requests recorded: <a href="/_sandbox/requests">see them as JSON</a>. '
        '<a href="/">Refresh this page</a> to see new posts.</p></header>'
        f"<main>{sections}</main></body></html>"
    )


def _listed(names: list[str]) -> str:
    """"A, B and C": the fakes found, so a platform added is named without touching this page."""
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else "no platforms"


def _section(title: str, anchor: str, posts: list[TimelinePost]) -> str:
    shown = f"newest {SHOWN} of {len(posts)}" if len(posts) > SHOWN else str(len(posts))
    heading = f'<h2 id="{anchor}">{escape(title)} <span class="meta">({shown} posts)</span></h2>'
    if not posts:
        return f"<section aria-labelledby=\"{anchor}\">{heading}<p>No posts yet.</p></section>"
    newest = heapq.nlargest(SHOWN, posts, key=lambda p: p.created_at)
    items = "".join(_item(p) for p in newest)
    return f'<section aria-labelledby="{anchor}">{heading}<ol>{items}</ol></section>'


def _item(post: TimelinePost) -> str:
    when = iso_millis(post.created_at)
    parts = [f'<p class="text">{escape(post.text) or "<em>(no text)</em>"}</p>']
    for number, alt in enumerate(post.alts, start=1):
        described = escape(alt) if alt else "<strong>missing alt text</strong>"
        parts.append(f'<p class="alt">Image {number} alt text: {described}</p>')
    if post.link:
        parts.append(f'<p class="meta">Link: {escape(post.link)}</p>')
    reply = f" · in reply to {escape(post.reply_to)}" if post.reply_to else ""
    parts.append(f'<p class="meta"><time datetime="{when}">{when}</time> · id {escape(post.id)}{reply}</p>')
    return f"<li>{''.join(parts)}</li>"


def render_post(platform_title: str, post: TimelinePost | None) -> str:
    """One post on its own page: where a sandbox channel's "view the post" link leads."""
    if post is None:
        body = ("<h1>This post is not here</h1><p>It was deleted (a retracted announcement is taken down "
                "this way), or the sandbox was restarted since.</p>")
    else:
        body = f"<h1>{escape(platform_title)} post</h1><ol>{_item(post)}</ol>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(platform_title)} post · civicpost sandbox</title><style>{_STYLE}</style></head><body>"
        f'<main>{body}<p><a href="/">All sandbox timelines</a></p></main></body></html>'
    )

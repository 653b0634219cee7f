"""A Mastodon 4.3 instance as it answers Mastodon.py (trimmed): statuses with
their HTML content, the account, the instance, `{"error": ...}` refusals."""

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from typing import Any

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer

MASTODON_BASE = "https://social.sandbox.test"
MASTODON_ACCOUNT = {
    "id": "109302000000000001",
    "username": "parks",
    "acct": "parks",
    "display_name": "City Parks",
    "url": "https://social.sandbox.test/@parks",
    "created_at": "2022-11-08T00:00:00.000Z",
}
STATUSES = f"{MASTODON_BASE}/api/v1/statuses"
FIRST_ID = 113000000000000001
_LINK = re.compile(r"(https?://)(\S+)")
_HASHTAG = re.compile(r"(?<![\w/])#(\w+)")


def mastodon_status(
    status_id: str, content: str, created_at: str = "2025-05-01T12:00:05.000Z", **extra: Any,
) -> dict[str, Any]:
    return {
        "id": status_id,
        "created_at": created_at,
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://social.sandbox.test/users/parks/statuses/{status_id}",
        "url": f"https://social.sandbox.test/@parks/{status_id}",
        "content": content,
        "account": MASTODON_ACCOUNT,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        **extra,
    }


def mastodon_rate_limit_headers(reset_in: int) -> dict[str, str]:
    now = time.time()
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + reset_in)),
        "Date": formatdate(now, usegmt=True),
    }


def as_mastodon_html(text: str) -> str:
    """A status's text as Mastodon renders it: paragraphs, links and hashtags as anchors."""

    def paragraph(words: str) -> str:
        escaped = html.escape(words, quote=False)
        escaped = _LINK.sub(
            r'<a href="\1\2" rel="nofollow noopener" translate="no" target="_blank">'
            r'<span class="invisible">\1</span><span class="">\2</span><span class="invisible"></span></a>',
            escaped,
        )
        escaped = _HASHTAG.sub(
            rf'<a href="{MASTODON_BASE}/tags/\1" class="mention hashtag" rel="tag">#<span>\1</span></a>', escaped
        )
        return f"<p>{escaped.replace(chr(10), '<br />')}</p>"

    return "".join(paragraph(words) for words in text.split("\n\n") if words)


class RecordedMastodon(Recorded):
    platform = "mastodon"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"access_token": "tok"}, {"api_base": MASTODON_BASE}

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (401, {"error": "The access token is invalid"}, {}),
            "rate_limited": (429, {"error": "Too many requests"}, mastodon_rate_limit_headers(300)),
            "server_error": (503, {"error": "Service Unavailable"}, {}),
            "rejected": (422, {"error": "Validation failed: Text character limit of 500 exceeded"}, {}),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.requests_answers() as mock:
            if case in refusals:
                status, body, headers = refusals[case]
                mock.post(STATUSES, json=body, status=status, headers=headers)
                yield 300 if case == "rate_limited" else None
                return
            texts = outgoing.parts or [outgoing.text]
            statuses = [
                mastodon_status(str(FIRST_ID + n), as_mastodon_html(text), f"2025-05-01T12:00:{5 + n:02d}.000Z",
                                in_reply_to_id=str(FIRST_ID + n - 1) if n else None)
                for n, text in enumerate(texts)
            ]
            if case == "check":
                mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
                mock.get(f"{MASTODON_BASE}/api/v2/instance/", json={
                    "domain": "social.sandbox.test", "version": "4.3.2",
                    "configuration": {"statuses": {"max_characters": 500, "characters_reserved_per_url": 23}},
                })
            elif case in ("publish", "timeouts", "thread", "delete", "find", "find_missing"):
                for answer in statuses:
                    mock.post(STATUSES, json=answer)
                if case == "delete":
                    # Mastodon answers with the deleted status and its source text, for "delete and redraft".
                    mock.delete(f"{STATUSES}/{FIRST_ID}", json={**statuses[0], "text": texts[0]})
                if case in ("find", "find_missing"):
                    mock.get(f"{MASTODON_BASE}/api/v1/accounts/verify_credentials", json=MASTODON_ACCOUNT)
                    mock.get(f"{MASTODON_BASE}/api/v1/accounts/{MASTODON_ACCOUNT['id']}/statuses",
                             json=list(reversed(statuses)))
            else:
                raise self.unknown(case)
            yield None

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for sent in self.calls:
            if sent.ok and sent.method == "POST" and sent.path == "/api/v1/statuses":
                form = sent.form()
                status_id = str(sent.answer["id"])
                held[status_id] = Post(status_id, form["status"], form.get("in_reply_to_id"))
            elif sent.ok and sent.method == "DELETE":
                held.pop(sent.path.rsplit("/", 1)[-1], None)
        return list(held.values())

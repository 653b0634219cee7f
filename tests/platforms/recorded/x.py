"""X API v2 as it answers tweepy (trimmed): tweets, the user, RFC 7807 problems."""

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer

X_BASE = "https://x.sandbox.test"
X_CREDENTIALS = {
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": "1580661436132757506-at",
    "access_token_secret": "ats",
}
X_ME = {"data": {"id": "1580661436132757506", "name": "City of Example", "username": "CityOfExample"}}
TWEETS = f"{X_BASE}/2/tweets"
FIRST_ID = 1880000000000000001
_LINK = re.compile(r"https?://\S+")


def x_tweet(tweet_id: str, text: str) -> dict[str, Any]:
    return {"data": {"edit_history_tweet_ids": [tweet_id], "id": tweet_id, "text": text}}


def x_problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


def x_rate_limit_headers(reset_in: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(time.time()) + reset_in),
    }


def as_x_shows(text: str) -> str:
    """X hands a tweet's text back with every link swapped for t.co."""
    return _LINK.sub("https://t.co/Qm9vbDEyMw", text)


class RecordedX(Recorded):
    platform = "x"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return X_CREDENTIALS, {"api_base": X_BASE}

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (401, x_problem(401, "Unauthorized", "Unauthorized"), {}),
            "rate_limited": (429, x_problem(429, "Too Many Requests", "Too Many Requests"), x_rate_limit_headers(900)),
            "server_error": (503, x_problem(503, "Service Unavailable", "Service Unavailable"), {}),
            "rejected": (400, {"errors": [{"message": "text too long"}], "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": "https://api.twitter.com/2/problems/invalid-request"}, {}),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.requests_answers() as mock:
            if case in refusals:
                status, body, headers = refusals[case]
                mock.post(TWEETS, json=body, status=status, headers=headers)
                yield 900 if case == "rate_limited" else None
                return
            if case == "check":
                mock.get(f"{X_BASE}/2/users/me", json=X_ME)
            elif case in ("publish", "timeouts", "thread", "delete", "find", "find_missing"):
                texts = outgoing.parts or [outgoing.text]
                for n, text in enumerate(texts):
                    mock.post(TWEETS, json=x_tweet(str(FIRST_ID + n), as_x_shows(text)), status=201)
                if case == "delete":
                    mock.delete(f"{TWEETS}/{FIRST_ID}", json={"data": {"deleted": True}})
                if case in ("find", "find_missing"):
                    mock.get(f"{X_BASE}/2/users/me", json=X_ME)
                    mock.get(f"{X_BASE}/2/users/{X_ME['data']['id']}/tweets", json=self._timeline(texts))
            else:
                raise self.unknown(case)
            yield None

    def _timeline(self, texts: list[str]) -> dict[str, Any]:
        newest_first = [
            {"id": str(FIRST_ID + n), "text": as_x_shows(text), "edit_history_tweet_ids": [str(FIRST_ID + n)],
             "created_at": f"2025-05-01T12:00:{5 + n:02d}.000Z"}
            for n, text in reversed(list(enumerate(texts)))
        ]
        meta = {"result_count": len(texts), "newest_id": newest_first[0]["id"], "oldest_id": newest_first[-1]["id"]}
        return {"data": newest_first, "meta": meta}

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for sent in self.calls:
            if sent.ok and sent.method == "POST" and sent.path == "/2/tweets":
                body = sent.json()
                reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
                tweet_id = sent.answer["data"]["id"]
                held[tweet_id] = Post(tweet_id, body["text"], str(reply_to) if reply_to else None)
            elif sent.ok and sent.method == "DELETE":
                held.pop(sent.path.rsplit("/", 1)[-1], None)
        return list(held.values())

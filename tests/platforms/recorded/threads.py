"""The Threads API as it answers a publisher (trimmed): a container, its status,
threads_publish, replies by reply_to_id; Graph's error object, business use
case usage when throttled."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer
from .instagram import meta_error

THREADS_BASE = "https://threads.sandbox.test"
API = f"{THREADS_BASE}/v1.0"
USER = "25133940182914285"
CONTAINER = "17889615691921648"
POST = "18050206876707110"
PERMALINK = "https://www.threads.com/@cityparks/post/DAbCdEfGhIj"
THREADS_CREDENTIALS = {"access_token": "THAA-long-lived-token"}
THREADS_SETTINGS = {"threads_user_id": USER, "api_base": THREADS_BASE}


def usage(minutes: int) -> dict[str, str]:
    entry = {"type": "threads", "call_count": 100, "total_cputime": 10, "total_time": 12,
             "estimated_time_to_regain_access": minutes}
    return {"x-business-use-case-usage": json.dumps({USER: [entry]})}


class RecordedThreads(Recorded):
    platform = "threads"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return THREADS_CREDENTIALS, THREADS_SETTINGS

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (400, meta_error(190, "Error validating access token: Session has expired.",
                                                subcode=463), {}),
            "rate_limited": (400, meta_error(32, "(#32) Page request limit reached", transient=True), usage(9)),
            "server_error": (500, meta_error(2, "An unexpected error has occurred. Please retry your request later.",
                                             transient=True), {}),
            "rejected": (400, meta_error(100, "(#100) Param text must be at most 500 characters long."), {}),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.httpx_answers() as router:
            threads = f"{API}/{USER}/threads"
            if case in refusals:
                status, body, headers = refusals[case]
                router.post(threads).respond(status, json=body, headers=headers)
                yield 9 * 60 if case == "rate_limited" else None
                return
            texts = outgoing.parts or [outgoing.text]
            containers = [str(int(CONTAINER) + n) for n in range(len(texts))]
            published = [str(int(POST) + n) for n in range(len(texts))]
            if case == "check":
                router.get(f"{API}/me").respond(json={"id": USER, "username": "cityparks"})
                router.get(f"{API}/{USER}/threads_publishing_limit").respond(
                    json={"data": [{"quota_usage": 4, "config": {"quota_total": 250, "quota_duration": 86400}}]})
            elif case in ("publish", "timeouts", "thread", "delete", "find", "find_missing"):
                router.post(threads).mock(side_effect=[httpx.Response(200, json={"id": c}) for c in containers])
                for container in containers:
                    router.get(f"{API}/{container}").respond(json={"status": "FINISHED", "id": container})
                router.post(f"{API}/{USER}/threads_publish").mock(
                    side_effect=[httpx.Response(200, json={"id": p}) for p in published])
                router.get(f"{API}/{POST}").respond(json={"permalink": PERMALINK, "id": POST})
                if case == "delete":
                    router.delete(f"{API}/{POST}").respond(json={"success": True, "deleted_id": POST})
                if case in ("find", "find_missing"):
                    post = {"id": POST, "text": outgoing.text, "timestamp": "2025-05-01T12:00:05+0000",
                            "permalink": PERMALINK}
                    router.get(threads).respond(json={"data": [post]})
            else:
                raise self.unknown(case)
            yield None

    def posts(self) -> list[Post]:
        containers: dict[str, dict[str, str]] = {}
        held: dict[str, Post] = {}
        for sent in self.calls:
            if sent.ok and sent.method == "POST" and sent.path.endswith("/threads"):
                containers[sent.answer["id"]] = sent.form()
            elif sent.ok and sent.method == "POST" and sent.path.endswith("/threads_publish"):
                made = containers[sent.form()["creation_id"]]
                held[sent.answer["id"]] = Post(sent.answer["id"], made["text"], made.get("reply_to_id"))
            elif sent.ok and sent.method == "DELETE":
                held.pop(sent.path.rsplit("/", 1)[-1], None)
        return list(held.values())

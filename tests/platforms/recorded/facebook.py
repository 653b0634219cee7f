"""The Graph API as it answers a Page's posts (trimmed): Page-scoped post ids,
`{"error": {...}}` with Graph's codes, usage headers when throttled."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from civicpost.platforms import Outgoing

from ._base import Post, Recorded, no_such_answer

GRAPH_BASE = "https://graph.sandbox.test"
PAGE_ID = "104958162837"
FACEBOOK_SETTINGS = {"api_base": GRAPH_BASE, "page_id": PAGE_ID, "graph_version": "v25.0"}
FACEBOOK_CREDENTIALS = {"page_access_token": "EAAB-page-token"}
GRAPH = f"{GRAPH_BASE}/v25.0"
POST_ID = f"{PAGE_ID}_122101234567890123"


def graph_error(code: int, message: str, *, subcode: int | None = None, transient: bool = False) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return {"error": error}


def buc_usage(minutes: int) -> dict[str, str]:
    usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 30, "total_time": 40,
                        "estimated_time_to_regain_access": minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


class RecordedFacebook(Recorded):
    platform = "facebook"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return FACEBOOK_CREDENTIALS, FACEBOOK_SETTINGS

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (400, graph_error(190, "Error validating access token: Session has expired.",
                                                 subcode=463), {}),
            "rate_limited": (400, graph_error(32, "(#32) Page request limit reached", transient=True), buc_usage(12)),
            "server_error": (500, graph_error(2, "An unexpected error has occurred. Please retry your request later.",
                                              transient=True), {}),
            "rejected": (400, graph_error(100, "(#100) Invalid parameter"), {}),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.httpx_answers() as router:
            feed = f"{GRAPH}/{PAGE_ID}/feed"
            if case in refusals:
                status, body, headers = refusals[case]
                router.post(feed).respond(status, json=body, headers=headers)
                yield 12 * 60 if case == "rate_limited" else None
                return
            if case == "check":
                router.get(f"{GRAPH}/me").respond(json={"id": PAGE_ID, "name": "City Parks"})
            elif case in ("publish", "timeouts", "delete", "find", "find_missing"):
                router.post(feed).respond(json={"id": POST_ID})
                if case == "delete":
                    router.delete(f"{GRAPH}/{POST_ID}").respond(json={"success": True})
                if case in ("find", "find_missing"):
                    post = {"id": POST_ID, "message": outgoing.text, "created_time": "2025-05-01T12:00:05+0000",
                            "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/122101234567890123"}
                    router.get(f"{GRAPH}/{PAGE_ID}/posts").respond(json={"data": [post]})
            else:
                raise self.unknown(case)
            yield None

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for sent in self.calls:
            if sent.ok and sent.method == "POST" and sent.path.endswith("/feed"):
                held[sent.answer["id"]] = Post(sent.answer["id"], sent.form()["message"])
            elif sent.ok and sent.method == "DELETE":
                held.pop(sent.path.rsplit("/", 1)[-1], None)
        return list(held.values())

"""Instagram's content publishing through the Graph API as it answers (trimmed):
a container, its status, media_publish, the media's permalink; Graph's error
object with Instagram's subcodes, business use case usage when throttled."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from civicpost.platforms import MediaItem, Outgoing

from ._base import Post, Recorded, no_such_answer

INSTAGRAM_BASE = "https://instagram.sandbox.test"
GRAPH = f"{INSTAGRAM_BASE}/v25.0"
IG_USER = "17841405822304914"
CONTAINER = "17889455560051444"
MEDIA_ID = "17920238422030506"
PERMALINK = "https://www.instagram.com/p/C7xYz12AbCd/"
INSTAGRAM_CREDENTIALS = {"access_token": "IGAA-long-lived-token"}
INSTAGRAM_SETTINGS = {"ig_user_id": IG_USER, "api_base": INSTAGRAM_BASE, "graph_version": "v25.0"}
SIGNED = "https://city.example/media/signed/{id}?expires=1746100800&sig=5f0c"


def meta_error(code: int, message: str, *, subcode: int | None = None, transient: bool = False,
               user_title: str | None = None, user_msg: str | None = None) -> dict[str, Any]:
    """Graph's error object, as Instagram's and Threads' APIs send it."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "is_transient": transient,
                             "fbtrace_id": "AZx1b2c3d4e5f6g7h8i9j0"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_title:
        error["error_user_title"] = user_title
    if user_msg:
        error["error_user_msg"] = user_msg
    return {"error": error}


def buc_usage(minutes: int, kind: str = "instagram") -> dict[str, str]:
    usage = {"type": kind, "call_count": 100, "total_cputime": 12, "total_time": 14,
             "estimated_time_to_regain_access": minutes}
    return {"x-business-use-case-usage": json.dumps({IG_USER: [usage]})}


def jpeg(item: str = "a1") -> MediaItem:
    # The adapter sends only the address; Meta fetches the bytes itself.
    return MediaItem(path=Path("/nonexistent") / item, mime_type="image/jpeg",
                     alt_text=f"Photo {item}: the pool from the deep end", url=SIGNED.format(id=item))


class RecordedInstagram(Recorded):
    platform = "instagram"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return INSTAGRAM_CREDENTIALS, INSTAGRAM_SETTINGS

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (400, meta_error(190, "Error validating access token: Session has expired.",
                                                subcode=463), {}),
            "rate_limited": (400, meta_error(32, "(#32) Page request limit reached", transient=True), buc_usage(12)),
            "server_error": (500, meta_error(2, "An unexpected error has occurred. Please retry your request later.",
                                             transient=True), {}),
            "rejected": (400, meta_error(36003, "The aspect ratio is not supported.", subcode=2207009,
                                         user_title="Unsupported aspect ratio"), {}),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.httpx_answers() as router:
            media = f"{GRAPH}/{IG_USER}/media"
            if case in refusals:
                status, body, headers = refusals[case]
                router.post(media).respond(status, json=body, headers=headers)
                yield 12 * 60 if case == "rate_limited" else None
                return
            if case == "check":
                router.get(f"{GRAPH}/{IG_USER}").respond(json={"id": IG_USER, "username": "cityparks"})
                router.get(f"{GRAPH}/{IG_USER}/content_publishing_limit").respond(
                    json={"data": [{"quota_usage": 2, "config": {"quota_total": 50, "quota_duration": 86400}}]})
            elif case in ("publish", "timeouts", "delete", "find", "find_missing"):
                # The API cannot delete a post: the adapter refuses a delete without asking.
                router.post(media).respond(json={"id": CONTAINER})
                router.get(f"{GRAPH}/{CONTAINER}").respond(json={"status_code": "FINISHED", "id": CONTAINER})
                router.post(f"{GRAPH}/{IG_USER}/media_publish").respond(json={"id": MEDIA_ID})
                router.get(f"{GRAPH}/{MEDIA_ID}").respond(json={"permalink": PERMALINK, "id": MEDIA_ID})
                if case in ("find", "find_missing"):
                    post = {"id": MEDIA_ID, "caption": outgoing.text, "timestamp": "2025-05-01T12:00:05+0000",
                            "permalink": PERMALINK}
                    router.get(media).respond(json={"data": [post]})
            else:
                raise self.unknown(case)
            yield None

    def posts(self) -> list[Post]:
        captions: dict[str, str] = {}
        held: list[Post] = []
        for sent in self.calls:
            if sent.ok and sent.method == "POST" and sent.path.endswith("/media"):
                captions[sent.answer["id"]] = sent.form()["caption"]
            elif sent.ok and sent.method == "POST" and sent.path.endswith("/media_publish"):
                held.append(Post(sent.answer["id"], captions[sent.form()["creation_id"]]))
        return held

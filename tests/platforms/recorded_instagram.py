"""Instagram's answers as the Graph API gives them (trimmed), and a small
recorded fake of Instagram for the contract test (same shape as fakes.py's)."""

import json
from pathlib import Path
from typing import Any

import respx

from civicpost.platforms import Adapter, MediaItem, Outgoing, build_adapter

from .conftest import make_outgoing

TIMEOUT = 7.5
GRAPH = "https://graph.instagram.test/v25.0"
IG_USER = "17841405822304914"
CONTAINER = "17889455560051444"
MEDIA_ID = "17920238422030506"
PERMALINK = "https://www.instagram.com/p/C7xYz12AbCd/"
CREDENTIALS = {"access_token": "IGAA-long-lived-token"}
SETTINGS = {"ig_user_id": IG_USER, "api_base": "https://graph.instagram.test", "graph_version": "v25.0"}
SIGNED = "https://city.example/media/signed/{id}?expires=1746100800&sig=5f0c"


def meta_error(code: int, message: str, *, subcode: int | None = None, transient: bool = False,
               user_title: str | None = None, user_msg: str | None = None) -> dict[str, Any]:
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


def outgoing(**changes: Any) -> Outgoing:
    return make_outgoing(media=[jpeg()], **changes)


class InstagramFake:
    """Instagram for the contract test: one image post, container then publish."""

    platform = "instagram"

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def adapter(self) -> Adapter:
        return build_adapter("instagram", CREDENTIALS, SETTINGS, timeout=TIMEOUT, allow_private_network=True)

    def outgoing(self, **changes: Any) -> Outgoing:
        """Instagram takes no post without an image."""
        return outgoing(**changes)

    def accept(self) -> None:
        self.router.post(f"{GRAPH}/{IG_USER}/media").respond(json={"id": CONTAINER})
        self.router.get(f"{GRAPH}/{CONTAINER}").respond(json={"status_code": "FINISHED", "id": CONTAINER})
        self.router.post(f"{GRAPH}/{IG_USER}/media_publish").respond(json={"id": MEDIA_ID})
        self.router.get(f"{GRAPH}/{MEDIA_ID}").respond(json={"permalink": PERMALINK, "id": MEDIA_ID})
        self.router.get(f"{GRAPH}/{IG_USER}").respond(json={"id": IG_USER, "username": "cityparks"})
        self.router.get(f"{GRAPH}/{IG_USER}/content_publishing_limit").respond(
            json={"data": [{"quota_usage": 2, "config": {"quota_total": 50, "quota_duration": 86400}}]})

    def refuse(self, kind: str) -> bool:
        status, body, headers = {
            "rate_limited": (400, meta_error(32, "(#32) Page request limit reached", transient=True), buc_usage(12)),
            "server_error": (500, meta_error(2, "An unexpected error has occurred. Please retry your request later.",
                                             transient=True), {}),
            "bad_credentials": (400, meta_error(190, "Error validating access token: Session has expired.",
                                                subcode=463), {}),
            "rejected": (400, meta_error(36003, "The aspect ratio is not supported.", subcode=2207009,
                                         user_title="Unsupported aspect ratio"), {}),
        }[kind]
        self.router.post(f"{GRAPH}/{IG_USER}/media").respond(status, json=body, headers=headers)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.extensions["timeout"]["read"] for call in self.router.calls]

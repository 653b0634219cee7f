"""LinkedIn's REST Posts API as it answers a Page (trimmed): 201 with the
post's URN in x-restli-id and no body, commentary written back as little
text, `{"status", "message", "code"}` refusals, daily limits that name no wait."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import httpx
import respx

from civicpost.platforms import Outgoing
from civicpost.sandbox import linkedin_little

from ._base import Post, Recorded, no_such_answer

LINKEDIN_BASE = "https://api.linkedin.sandbox.test"
REST = f"{LINKEDIN_BASE}/rest"
ORGANIZATION_ID = "2414183"
ORGANIZATION = f"urn:li:organization:{ORGANIZATION_ID}"
LINKEDIN_CREDENTIALS = {"access_token": "AQXdSP_W41_UPs5ioT_t8HESyODB4FqbkJ8LrV_5mff4gPODzOYR"}
LINKEDIN_SETTINGS = {"api_base": LINKEDIN_BASE, "organization_urn": ORGANIZATION, "linkedin_version": "202607"}
SHARE = "urn:li:share:7266081562093039616"
ENCODED_SHARE = quote(SHARE, safe="")
ORGANIZATION_ANSWER = {
    "vanityName": "city-of-example",
    "localizedName": "City of Example",
    "id": int(ORGANIZATION_ID),
    "name": {"localized": {"en_US": "City of Example"}, "preferredLocale": {"country": "US", "language": "en"}},
    "primaryOrganizationType": "NONE",
    "$URN": ORGANIZATION,
}
DAY_LIMIT = "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
CREATED_MS = 1746100805000  # 2025-05-01T12:00:05Z, just after the outgoing post was made


def linkedin_error(status: int, message: str, *, code: str | None = None,
                   service_code: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return body


def created(urn: str = SHARE) -> httpx.Response:
    """A new post: 201, no body, the URN in x-restli-id."""
    return httpx.Response(201, headers={"x-restli-id": urn})


def post_element(urn: str, commentary: str, created_ms: int) -> dict[str, Any]:
    """A post as the author finder lists it (commentary in little text, as LinkedIn writes it back)."""
    return {
        "isReshareDisabledByAuthor": False,
        "createdAt": created_ms,
        "lifecycleState": "PUBLISHED",
        "lastModifiedAt": created_ms,
        "visibility": "PUBLIC",
        "publishedAt": created_ms,
        "author": ORGANIZATION,
        "id": urn,
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "commentary": commentary,
        "lifecycleStateInfo": {"isEditedByAuthor": False},
    }


def upload_initialized(image: str, upload_url: str) -> dict[str, Any]:
    return {"value": {"uploadUrlExpiresAt": int(time.time() * 1000) + 86_400_000, "uploadUrl": upload_url,
                      "image": image}}


def until_midnight_utc() -> float:
    """LinkedIn's daily limits lift at midnight UTC; its 429 names no wait."""
    now = datetime.now(UTC)
    return (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now).total_seconds()


class RecordedLinkedIn(Recorded):
    platform = "linkedin"

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return LINKEDIN_CREDENTIALS, LINKEDIN_SETTINGS

    @classmethod
    def announced_wait(cls, reset_s: float) -> float:
        return until_midnight_utc()

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        refusals = {
            "bad_credentials": (401, linkedin_error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN",
                                                    service_code=65600)),
            "rate_limited": (429, linkedin_error(429, DAY_LIMIT, code="TOO_MANY_REQUESTS", service_code=101)),
            "server_error": (503, linkedin_error(503, "Service Unavailable")),
            "rejected": (422, linkedin_error(422, "ERROR :: /commentary :: length 3012 exceeds the maximum of 3000")),
        }
        if case == "late":
            no_such_answer("a recorded answer cannot come late: every request's timeout is checked instead")
        with self.httpx_answers() as router:
            posts = f"{REST}/posts"
            if case in refusals:
                status, body = refusals[case]
                router.post(posts).respond(status, json=body)
                yield until_midnight_utc() if case == "rate_limited" else None
                return
            if case == "check":
                router.get(f"{REST}/organizations/{ORGANIZATION_ID}").respond(json=ORGANIZATION_ANSWER)
            elif case in ("publish", "timeouts", "delete", "find", "find_missing"):
                router.post(posts).mock(return_value=created())
                if case == "delete":
                    router.delete(f"{posts}/{ENCODED_SHARE}").respond(204)
                if case in ("find", "find_missing"):
                    router.get(posts).mock(side_effect=lambda request: _listed(router))
            else:
                raise self.unknown(case)
            yield None

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for sent in self.calls:
            if sent.ok and sent.method == "POST" and sent.path == "/rest/posts":
                # Answered with SHARE in x-restli-id; LinkedIn reads the commentary as little text.
                segments = linkedin_little.read(sent.json()["commentary"])
                held[SHARE] = Post(SHARE, linkedin_little.shown(segments))
            elif sent.ok and sent.method == "DELETE":
                held.pop(unquote(sent.path.rsplit("/", 1)[-1]), None)
        return list(held.values())


def _listed(router: respx.MockRouter) -> httpx.Response:
    """The author finder's answer: each post received, newest first, its commentary written back as LinkedIn does."""
    made = [json.loads(call.request.content)["commentary"] for call in router.calls
            if call.request.method == "POST" and call.optional_response is not None
            and call.optional_response.status_code == 201]
    elements = [post_element(SHARE, linkedin_little.written_back(linkedin_little.read(commentary)), CREATED_MS)
                for commentary in reversed(made)]
    return httpx.Response(200, json={"paging": {"start": 0, "count": 20, "links": [], "total": len(elements)},
                                     "elements": elements})

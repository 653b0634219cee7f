"""LinkedIn's REST API answers as recorded (trimmed), and the contract fake for
LinkedIn in the shape of tests/platforms/fakes.py (`accept`, `refuse(kind)`,
`timeouts`), for the registry's recorded fakes."""

import time
from typing import Any
from urllib.parse import quote

import httpx
import respx

from civicpost.platforms import Adapter, build_adapter

TIMEOUT = 7.5
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


class LinkedInFake:
    platform = "linkedin"

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def adapter(self) -> Adapter:
        return build_adapter("linkedin", LINKEDIN_CREDENTIALS, LINKEDIN_SETTINGS, timeout=TIMEOUT,
                             allow_private_network=True)

    def accept(self) -> None:
        self.router.post(f"{REST}/posts").mock(return_value=created())
        self.router.delete(f"{REST}/posts/{ENCODED_SHARE}").respond(204)
        self.router.get(f"{REST}/organizations/{ORGANIZATION_ID}").respond(json=ORGANIZATION_ANSWER)

    def refuse(self, kind: str) -> bool:
        status, body = {
            "rate_limited": (429, linkedin_error(429, DAY_LIMIT, code="TOO_MANY_REQUESTS", service_code=101)),
            "server_error": (503, linkedin_error(503, "Service Unavailable")),
            "bad_credentials": (401, linkedin_error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN",
                                                    service_code=65600)),
            "rejected": (422, linkedin_error(422, "ERROR :: /commentary :: length 3012 exceeds the maximum of 3000")),
        }[kind]
        self.router.post(f"{REST}/posts").respond(status, json=body)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.extensions["timeout"]["read"] for call in self.router.calls]

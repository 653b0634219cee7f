"""LinkedIn's versioned REST API as a Page publisher calls it, mounted at `/linkedin`.

`https://api.linkedin.com/rest/posts` becomes `{sandbox}/linkedin/rest/posts`;
image uploads go to `{sandbox}/linkedin/dms-uploads/...` (www.linkedin.com's
upload addresses), a post is shown at `{sandbox}/linkedin/feed/update/{urn}`
and the Page at `{sandbox}/linkedin/company/{name}`.

As LinkedIn does, it wants a Bearer token, `Linkedin-Version: YYYYMM` (400
VERSION_MISSING without it, 426 for a version it does not serve) and Rest.li
2.0 with URNs percent-encoded in paths; it answers a new post 201 with an
empty body and the post's URN in `x-restli-id`, reads commentary as little
text (linkedin_little.py), refuses the same post twice within an hour as a
duplicate, and answers a daily limit with 429 and no Retry-After. Tokens:
"bad" is invalid, "expired" has expired; only the sandbox's Page may post.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from . import linkedin_little as little
from .core import Call, Hub, PlatformFake, TimelinePost, json_response
from .faults import Kind, PlatformFaults
from .ids import Snowflake, now
from .page import render_timelines

ORGANIZATION_ID = 90412537
ORGANIZATION = f"urn:li:organization:{ORGANIZATION_ID}"
PAGE = {
    "id": ORGANIZATION_ID,
    "$URN": ORGANIZATION,
    "localizedName": "City of Sandbox",
    "vanityName": "city-of-sandbox",
    "name": {"localized": {"en_US": "City of Sandbox"}, "preferredLocale": {"country": "US", "language": "en"}},
    "primaryOrganizationType": "NONE",
    "organizationType": "GOVERNMENT_AGENCY",
    "localizedWebsite": "https://city.example",
}
OLDEST_VERSION = "202501"  # the sandbox's floor; LinkedIn's moves forward a month at a time
COMMENTARY_LIMIT = 3000
ALT_TEXT_LIMIT = 4086
DUPLICATE_WINDOW_S = 3600
_VERSION = re.compile(r"^20[0-9]{2}(0[1-9]|1[0-2])$")
_POST_FIELDS = {"author", "commentary", "visibility", "distribution", "lifecycleState",
                "isReshareDisabledByAuthor", "content", "contentLandingPage", "container", "adContext",
                "lifecycleStateInfo", "reshareContext"}
_IMAGE_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"GIF87a": "image/gif",
                b"GIF89a": "image/gif"}


def li_error(status: int, message: str, *, code: str | None = None, service_code: int | None = None,
             headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return json_response(body, status, headers)


@dataclass
class Image:
    urn: str
    owner: str
    token: str
    status: str = "WAITING_UPLOAD"
    media_type: str | None = None


@dataclass
class Post:
    urn: str
    author: str
    segments: list[little.Segment]
    sent: str  # the commentary as received, for the duplicate check
    body: dict[str, Any]
    created_ms: int

    def as_json(self) -> dict[str, Any]:
        return {**self.body, "id": self.urn, "commentary": little.written_back(self.segments),
                "createdAt": self.created_ms, "publishedAt": self.created_ms, "lastModifiedAt": self.created_ms,
                "lifecycleStateInfo": {"isEditedByAuthor": False}}

    def alts(self) -> tuple[str, ...]:
        content = self.body.get("content") or {}
        images = [content["media"]] if "media" in content else content.get("multiImage", {}).get("images", [])
        return tuple(str(i.get("altText") or "") for i in images)


class LinkedInFake(PlatformFake):
    name = "linkedin"
    title = "LinkedIn Page"
    plays = ("linkedin",)
    default_quota = (100_000, 24 * 3600)  # never advertised: LinkedIn sends no rate-limit headers

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self._ids = Snowflake()  # share ids are time-ordered 19-digit numbers
        self.reset()

    def reset(self) -> None:
        self.posts: dict[str, Post] = {}
        self.images: dict[str, Image] = {}

    def routes(self) -> list[Route]:
        return [
            self.route("/rest/organizations/{number}", self.get_organization, methods=["GET"], kind=Kind.AUTH),
            self.route("/rest/images", self.initialize_upload, methods=["POST"], kind=Kind.WRITE),
            self.route("/rest/images/{urn}", self.get_image, methods=["GET"], kind=Kind.READ),
            self.route("/dms-uploads/{token}/uploaded-image/{n}", self.upload, methods=["PUT"], kind=Kind.WRITE,
                       auth=False),
            self.route("/rest/posts", self.create_post, methods=["POST"], kind=Kind.CREATE),
            self.route("/rest/posts", self.find_posts, methods=["GET"], kind=Kind.READ),
            self.route("/rest/posts/{urn}", self.get_post, methods=["GET"], kind=Kind.READ),
            self.route("/rest/posts/{urn}", self.delete_post, methods=["DELETE"], kind=Kind.WRITE),
            Route("/company/{name}", self.company_page, methods=["GET"]),
            self.route("/oauth/v2/introspectToken", self.introspect, methods=["POST"], kind=Kind.READ, auth=False),
        ]

    # --- credentials, versions, errors ---------------------------------------------
    def authenticate(self, call: Call) -> Response | None:
        refused = _token_refused(call)
        if refused is not None:
            return refused
        version = call.header("linkedin-version")
        if not version:
            return li_error(400, "A version must be present. Please specify a version by adding the "
                                 "LinkedIn-Version header.", code="VERSION_MISSING")
        if not _VERSION.match(version) or not OLDEST_VERSION <= version <= datetime.now(UTC).strftime("%Y%m"):
            return li_error(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")
        if call.header("x-restli-protocol-version") != "2.0.0":
            return li_error(400, "This resource requires the X-Restli-Protocol-Version: 2.0.0 header",
                            code="INVALID_PROTOCOL_VERSION")
        return None

    def error_response(self, status: int) -> Response:
        words = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                 504: "Request timed out"}
        return li_error(status, words.get(status, "Something went wrong"))

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        return li_error(faults.rate_limit_status or 429,
                        "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
                        code="TOO_MANY_REQUESTS", service_code=101)

    # --- the Page and its images -----------------------------------------------------
    def introspect(self, call: Call) -> Response:
        """LinkedIn's token introspection: the app's ID and secret and the token in a form.
        A member token lasts 60 days ("expiring" in it: 5 days left; "expired": no longer active)."""
        token, client_id, secret = (str(call.field(k) or "") for k in ("token", "client_id", "client_secret"))
        if not (token and client_id and secret) or secret == "bad":
            return json_response({"error": "invalid_request",
                                  "error_description": "A required parameter is missing or the client is unknown"},
                                 status=401)
        if "expired" in token:
            return json_response({"active": False, "status": "expired"})
        issued = int(time.time()) - 86400
        days = 5 if "expiring" in token else 59
        return json_response({"active": True, "client_id": client_id, "authorized_at": issued, "created_at": issued,
                              "status": "active", "expires_at": int(time.time()) + days * 86400,
                              "scope": "w_organization_social r_organization_social"})

    def get_organization(self, call: Call) -> Response:
        if call.path_params["number"] != str(ORGANIZATION_ID):
            return li_error(404, f"Organization {call.path_params['number']} not found", code="NOT_FOUND")
        return json_response(PAGE)

    def initialize_upload(self, call: Call) -> Response:
        if call.query.get("action") != "initializeUpload":
            return li_error(400, "Missing or unknown action; use ?action=initializeUpload")
        request = call.json.get("initializeUploadRequest") if isinstance(call.json, dict) else None
        owner = request.get("owner") if isinstance(request, dict) else None
        if not owner:
            return li_error(422, "ERROR :: /initializeUploadRequest/owner :: field is required but not found "
                                 "and has no default value", code="UNPROCESSABLE_ENTITY")
        if owner != ORGANIZATION:
            return _access_denied("images.INITIALIZE_UPLOAD", call)
        image = Image("urn:li:image:C4E10AQ" + _alnum(11), owner, secrets.token_urlsafe(12))
        self.images[image.urn] = image
        url = call.request.url
        upload_url = (f"{url.scheme}://{url.netloc}/linkedin/dms-uploads/{image.token}/uploaded-image/0"
                      "?ca=vector_feedshare&cn=uploads&sync=0&v=beta")
        return json_response({"value": {"uploadUrlExpiresAt": int(time.time() * 1000) + 24 * 3600 * 1000,
                                        "uploadUrl": upload_url, "image": image.urn}})

    def upload(self, call: Call) -> Response:
        refused = _token_refused(call)
        if refused is not None:
            return refused
        image = next((i for i in self.images.values() if i.token == call.path_params["token"]), None)
        if image is None or image.status != "WAITING_UPLOAD":
            return Response(status_code=400)  # the upload host answers without a body
        image.media_type = next((t for magic, t in _IMAGE_MAGIC.items() if call.raw.startswith(magic)), None)
        image.status = "AVAILABLE" if image.media_type else "PROCESSING_FAILED"
        return Response(status_code=201)

    def get_image(self, call: Call) -> Response:
        urn = _encoded_urn(call)
        if isinstance(urn, Response):
            return urn
        image = self.images.get(urn)
        if image is None:
            return li_error(404, f"Image {urn} not found", code="NOT_FOUND")
        return json_response({"id": image.urn, "owner": image.owner, "status": image.status,
                              **({"mediaType": image.media_type} if image.media_type else {})})

    # --- posts -------------------------------------------------------------------------
    def create_post(self, call: Call) -> Response:
        body = call.json
        if not isinstance(body, dict):
            return li_error(400, "Unable to parse the request body as JSON")
        if unknown := sorted(set(body) - _POST_FIELDS):
            return li_error(422, f"ERROR :: /{unknown[0]} :: unrecognized field found but not allowed")
        for name in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                return li_error(422, f"ERROR :: /{name} :: field is required but not found and has no default value")
        if body["author"] != ORGANIZATION:
            return _access_denied("partnerApiPostsExternal.CREATE", call)
        commentary = body["commentary"]
        if not isinstance(commentary, str):
            return li_error(422, "ERROR :: /commentary :: expected a string")
        if (length := len(commentary.encode("utf-16-le")) // 2) > COMMENTARY_LIMIT:
            return li_error(422, f"ERROR :: /commentary :: length {length} exceeds the maximum of "
                                 f"{COMMENTARY_LIMIT}")
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            return li_error(422, f"ERROR :: /visibility :: {body['visibility']!r} is not a valid value")
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            return li_error(422, f"ERROR :: /lifecycleState :: {body['lifecycleState']!r} is not a valid value")
        refused = self._check_content(body.get("content"))
        if refused is not None:
            return refused
        moment = int(now().timestamp() * 1000)
        recent = (p for p in self.posts.values() if moment - p.created_ms < DUPLICATE_WINDOW_S * 1000)
        for post in recent:
            if (post.author, post.sent) == (body["author"], commentary):
                return li_error(422, f"Content is a duplicate of {post.urn}", code="DUPLICATE_POST")
        post = Post(f"urn:li:share:{self._ids.next()}", body["author"], little.read(commentary), commentary,
                    {k: v for k, v in body.items() if k != "commentary"}, moment)
        self.posts[post.urn] = post
        return Response(status_code=201, headers={"x-restli-id": post.urn})

    def _check_content(self, content: Any) -> Response | None:
        if content is None:
            return None
        if not isinstance(content, dict) or len(content) != 1 or not {"media", "multiImage"} >= set(content):
            return li_error(422, "ERROR :: /content :: the sandbox plays image posts only (media or multiImage)")
        images = [content["media"]] if "media" in content else (content["multiImage"] or {}).get("images")
        if not isinstance(images, list) or not ("media" in content or 2 <= len(images) <= 20):
            return li_error(422, "ERROR :: /content/multiImage/images :: a multi-image post takes 2 to 20 images")
        for image in images:
            stored = self.images.get(str(image.get("id"))) if isinstance(image, dict) else None
            if stored is None or stored.status != "AVAILABLE":
                said = image.get("id") if isinstance(image, dict) else image
                return li_error(422, f"ERROR :: /content :: image {said} is not uploaded or not AVAILABLE")
            if len(str(image.get("altText") or "")) > ALT_TEXT_LIMIT:
                return li_error(422, f"ERROR :: /content :: altText is longer than {ALT_TEXT_LIMIT} characters")
        return None

    def find_posts(self, call: Call) -> Response:
        if call.query.get("q") != "author":
            return li_error(400, "Unsupported finder; this sandbox serves q=author")
        author = call.query.get("author")
        if author != ORGANIZATION:
            return _access_denied("partnerApiPostsExternal.FINDER-author", call)
        try:
            start, count = int(call.query.get("start", "0")), min(100, int(call.query.get("count", "10")))
        except ValueError:
            return li_error(400, "start and count must be integers")
        order = "createdAt" if call.query.get("sortBy") == "CREATED" else "lastModifiedAt"
        posts = sorted((p.as_json() for p in self.posts.values() if p.author == author and
                        p.body.get("lifecycleState") == "PUBLISHED"),
                       key=lambda p: (p[order], int(p["id"].rpartition(":")[2])), reverse=True)
        return json_response({"paging": {"start": start, "count": count, "links": [], "total": len(posts)},
                              "elements": posts[start:start + count]})

    def get_post(self, call: Call) -> Response:
        urn = _encoded_urn(call)
        if isinstance(urn, Response):
            return urn
        post = self.posts.get(urn)
        return json_response(post.as_json()) if post else li_error(404, f"Post {urn} not found", code="NOT_FOUND")

    def delete_post(self, call: Call) -> Response:
        urn = _encoded_urn(call)
        if isinstance(urn, Response):
            return urn
        if self.posts.pop(urn, None) is None:
            return li_error(404, f"Post {urn} not found", code="NOT_FOUND")
        return Response(status_code=204)

    # --- what people see -----------------------------------------------------------------
    async def company_page(self, request: Request) -> Response:
        recorded = len(self.hub.recorder.entries(platform=self.name))
        return HTMLResponse(render_timelines([self], recorded=recorded))

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        return [("/linkedin/feed/update/{urn}", lambda r: r.path_params["urn"])]

    def timeline(self) -> list[TimelinePost]:
        return [
            TimelinePost(platform=self.name, id=p.urn, text=little.shown(p.segments),
                         created_at=datetime.fromtimestamp(p.created_ms / 1000, UTC), alts=p.alts())
            for p in self.posts.values()
        ]


def _token_refused(call: Call) -> Response | None:
    scheme, _, token = (call.header("authorization") or "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if not token:
        return li_error(401, "Empty oauth2_access_token", code="EMPTY_ACCESS_TOKEN", service_code=65604)
    if token == "bad":
        return li_error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service_code=65600)
    if token == "expired":
        return li_error(401, "The token used in the request has expired", code="EXPIRED_ACCESS_TOKEN",
                        service_code=65601)
    return None


def _access_denied(resource: str, call: Call) -> Response:
    version = call.header("linkedin-version") or ""
    return li_error(403, f"Not enough permissions to access: {resource}.{version}01", code="ACCESS_DENIED",
                    service_code=100)


def _encoded_urn(call: Call) -> str | Response:
    """The URN named in the path, which Rest.li 2.0 wants percent-encoded (`urn%3Ali%3Ashare%3A1`)."""
    urn = call.path_params["urn"]
    if ":" in call.request.scope.get("raw_path", b"").decode("latin-1").rpartition("/")[2]:
        return li_error(400, f"Invalid key {urn}: encode the URN in the path (urn%3Ali%3A...)")
    return urn


def _alnum(length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


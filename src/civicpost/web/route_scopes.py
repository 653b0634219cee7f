"""Which token scope each API route needs (SPEC §8.6).

Every route under /api/v1 that takes a bearer token is named here, by method
and path, on purpose: tests/test_token_scopes.py walks the app's routes and
fails for one that is missing (or named here but gone), so a new route is
placed deliberately rather than falling into a default.

A few routes need more than their line here, depending on what they touch; the
handler asks for it with `deps.require_scope`: revoking someone else's token
(an admin act) and cancelling an approved announcement need `approve`.
"""

from civicpost.identity.scopes import APPROVE, DRAFT, READ, Scope

_API = "/api/v1"

_ROUTES: dict[Scope, list[str]] = {
    READ: [
        "GET /users/me",
        "GET /users",
        "GET /tokens",
        "GET /departments",
        "GET /channels",
        "GET /channels/{channel_id}",
        "GET /announcements",
        "GET /announcements/{announcement_id}",
        "GET /announcements/{announcement_id}/audit",
        "GET /announcements/{announcement_id}/clicks",
        "GET /announcements/{announcement_id}/comments",
        "GET /announcements/{announcement_id}/versions",
        "GET /announcements/{announcement_id}/replies",
        "GET /announcements/{announcement_id}/cap.xml",
        "GET /records/due",
        "GET /alert-wording",
        "GET /exports",
        "GET /exports/{export_id}",
        "GET /exports/{export_id}/download",
        "GET /deliveries/{delivery_id}/metrics",
        "GET /insights",
        "GET /suspensions",
        "GET /suspensions/{suspension_id}",
        "GET /topics",
        "GET /subscribers",  # addresses for admins only (in the handler)
        "GET /texting",
    ],
    DRAFT: [
        # Making and changing drafts, their media and comments, and submitting them.
        "POST /announcements",
        "PATCH /announcements/{announcement_id}",
        "POST /announcements/{announcement_id}/submit",
        "POST /announcements/{announcement_id}/cancel",  # an approved one needs approve (in the handler)
        "POST /announcements/{announcement_id}/comments",
        "POST /media",
        "POST /previews",
        # Your own tokens; a new one carries no scope the token asking for it lacks (in the handler).
        "POST /tokens",
        "DELETE /tokens/{token_id}",  # someone else's needs approve (in the handler)
    ],
    APPROVE: [
        # What changes what the public sees: approving, publishing, taking down.
        "POST /announcements/{announcement_id}/approve",
        "POST /announcements/{announcement_id}/reject",
        "POST /announcements/{announcement_id}/publish-now",
        "POST /announcements/{announcement_id}/review",
        "POST /announcements/{announcement_id}/retract",
        "POST /announcements/{announcement_id}/alert-update",
        "POST /announcements/{announcement_id}/all-clear",
        "POST /deliveries/{delivery_id}/retry",
        "POST /replies/{reply_id}/hide",
        "POST /replies/{reply_id}/remove",
        "POST /suspensions",
        "DELETE /suspensions/{suspension_id}",
        "POST /suspensions/{suspension_id}/release",
        # Administration: people, departments, channels, records.
        "POST /users",
        "PATCH /users/{user_id}",
        "POST /departments",
        "PATCH /departments/{slug}",
        "POST /channels",
        "PATCH /channels/{channel_id}",
        "PUT /channels/{channel_id}/credentials",
        "PUT /alert-wording",
        "PUT /announcements/{announcement_id}/legal-hold",
        "DELETE /announcements/{announcement_id}/legal-hold",
        "POST /announcements/{announcement_id}/withdraw-notice",
        "POST /exports",
        "POST /topics",
        "POST /subscribers/import",
        "PUT /texting",
    ],
}

ROUTE_SCOPES: dict[tuple[str, str], Scope] = {}
for _scope, _lines in _ROUTES.items():
    for _line in _lines:
        _method, _path = _line.split(" ")
        assert (_method, _API + _path) not in ROUTE_SCOPES, f"{_line} is named twice"
        ROUTE_SCOPES[(_method, _API + _path)] = _scope

# What each scope is called in a refusal: "<doing> needs the '<scope>' scope".
DOING: dict[Scope, str] = {
    READ: "reading",
    DRAFT: "writing drafts, media and comments, and submitting",
    APPROVE: "approving, publishing, retracting, suspending and administering",
}


def needed(method: str, path_format: str) -> Scope:
    """The scope a route needs; a route not named (a mistake the route-walk test catches) needs approve."""
    return ROUTE_SCOPES.get(("GET" if method == "HEAD" else method, path_format), APPROVE)

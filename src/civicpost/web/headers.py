"""Security headers on every response, added where the response starts.

Every response: `X-Content-Type-Options: nosniff` and `Referrer-Policy:
same-origin`. Everything outside the API also gets a Content-Security-Policy
that allows nothing but this site's own files (no inline script, no inline
style, no framing) and `X-Frame-Options: DENY` for browsers that predate
`frame-ancestors`: the approve and retract buttons cannot be framed. Staff
pages and the API are never stored by a browser or a proxy
(`Cache-Control: no-store`); public pages, feeds and media keep their own
caching.

A pure ASGI middleware rather than Starlette's BaseHTTPMiddleware: the API is
a hot path, and this costs one list extension per response, nothing per
body chunk.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# blob: is an image the person chose on their own machine, shown in the draft's preview before it is uploaded.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_EVERYWHERE = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
_PAGES = [(b"x-frame-options", b"DENY")]
_NO_STORE = (b"cache-control", b"no-store")
_CSP = b"content-security-policy"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, policy: str = POLICY) -> None:
        self.app = app
        self._policy = (_CSP, policy.encode())
        # Per kind of path: headers to add, whether it gets the page policy, whether it is never stored.
        self._api = ([*_EVERYWHERE, _NO_STORE], False, True)
        self._staff = ([*_EVERYWHERE, *_PAGES, _NO_STORE], True, True)
        self._other = ([*_EVERYWHERE, *_PAGES], True, False)
        # /embed/<topic> is meant for another site's frame: its handler sets frame-ancestors to the sites
        # CIVICPOST_EMBED_ANCESTORS names, and X-Frame-Options (which cannot name them) is left off.
        self._embed = (_EVERYWHERE, True, False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/api/"):
            extra, with_policy, no_store = self._api
        elif path.startswith("/staff/") or path == "/staff":
            extra, with_policy, no_store = self._staff
        elif path.startswith("/embed/"):
            extra, with_policy, no_store = self._embed
        else:
            extra, with_policy, no_store = self._other

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if no_store:
                    # Whatever a handler set, a staff page or an API answer is never stored.
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                if with_policy and not any(h[0].lower() == _CSP for h in headers):
                    headers.append(self._policy)
                # A handler's own value stands (a tracked link's redirect tells the next site nothing).
                given = {h[0].lower() for h in headers}
                headers.extend(h for h in extra if h[0] not in given)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

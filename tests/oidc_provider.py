"""A real OpenID Connect provider on 127.0.0.1 for the single sign-on tests.

It speaks the protocol civicpost relies on, over HTTP: discovery, a JWKS with an RS256 key made
at start, an authorization endpoint that signs in `provider.person` at once (or answers
`error=access_denied` when `provider.deny`), and a token endpoint that checks the client's
secret, the redirect URI, that each code is used once and the PKCE verifier (S256). ID tokens
are signed with joserfc (authlib's JOSE library). `provider.flaw` makes the next ID tokens wrong
in one way ("signature", "audience", "expired") so the tests can see civicpost refuse them.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "civicpost-test-client"
CLIENT_SECRET = "test-client-secret-0123456789"


@dataclass
class Provider:
    issuer: str = ""
    redirect_uri: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    deny: bool = False
    flaw: str | None = None
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def reset(self, person: dict[str, Any]) -> None:
        self.person, self.deny, self.flaw = person, False, None
        self.authorize_requests.clear()
        self.token_requests = 0

    def id_token(self, *, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce, **self.person}
        key = self.key
        if self.flaw == "signature":
            # Same key id, another key: what a forger without the provider's key can make.
            key = RSAKey.generate_key(2048, parameters={"kid": "key-1"}, private=True)
        elif self.flaw == "audience":
            claims["aud"] = "another-application"
        elif self.flaw == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def answer_json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def redirect_to(self, url: str) -> None:
            self.send_response(302)
            self.send_header("location", url)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                self.answer_json(200, {
                    "issuer": provider.issuer, "authorization_endpoint": provider.issuer + "/authorize",
                    "token_endpoint": provider.issuer + "/token", "jwks_uri": provider.issuer + "/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"]})
            elif url.path == "/jwks":
                self.answer_json(200, KeySet([provider.key]).as_dict(private=False))
            elif url.path == "/authorize":
                self.authorize(query)
            else:
                self.answer_json(404, {"error": "not_found"})

        def authorize(self, query: dict[str, str]) -> None:
            provider.authorize_requests.append(query)
            if query.get("client_id") != CLIENT_ID or query.get("redirect_uri") != provider.redirect_uri:
                self.answer_json(400, {"error": "invalid_request", "error_description": "unknown client or redirect"})
                return
            back = provider.redirect_uri + "?"
            if provider.deny:
                self.redirect_to(back + urlencode({"error": "access_denied", "state": query.get("state", "")}))
                return
            if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                    or not query.get("code_challenge") or "openid" not in query.get("scope", "").split():
                self.redirect_to(back + urlencode({"error": "invalid_request", "state": query.get("state", "")}))
                return
            code = secrets.token_urlsafe(24)
            provider.codes[code] = {"challenge": query["code_challenge"], "nonce": query.get("nonce", ""),
                                    "redirect_uri": query["redirect_uri"]}
            self.redirect_to(back + urlencode({"code": code, "state": query.get("state", "")}))

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self.answer_json(404, {"error": "not_found"})
                return
            provider.token_requests += 1
            length = int(self.headers.get("content-length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("authorization") != expected:
                self.answer_json(401, {"error": "invalid_client"})
                return
            grant = provider.codes.pop(form.get("code", ""), None)  # a code works once
            if form.get("grant_type") != "authorization_code" or grant is None \
                    or form.get("redirect_uri") != grant["redirect_uri"]:
                self.answer_json(400, {"error": "invalid_grant"})
                return
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not verifier or challenge != grant["challenge"]:
                self.answer_json(400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"})
                return
            self.answer_json(200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                             "id_token": provider.id_token(nonce=grant["nonce"])})

    return Handler


@contextmanager
def running_provider(*, redirect_uri: str) -> Iterator[Provider]:
    provider = Provider(redirect_uri=redirect_uri)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()

"""Single sign-on with OpenID Connect: authorization code with PKCE, the ID token verified here.

The provider is found through its discovery document, kept for an hour; its signing keys are
fetched again when a token names a key id we do not have (the provider rolled its keys), at most
once a minute so forged key ids cannot make us hammer it. authlib speaks OAuth (the authorization
address, the code exchange); joserfc, authlib's JOSE library, checks the ID token's signature and
its claims: issuer, audience (our client id), expiry and the nonce we sent.

Nothing here touches the database: the pages keep each attempt's state (models.OidcState).
"""

import base64
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from civicpost.config import Settings

# authlib, joserfc and requests are imported where they are used, at first use: a web process
# holds them (about 7 MB) only once someone signs in through a provider (docs/benchmarks.md).
if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session
    from joserfc.jwk import KeySet

log = logging.getLogger(__name__)

SCOPE = "openid email profile"
DISCOVERY_LIFETIME = 3600.0
KEY_REFRESH_GAP = 60.0
TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock difference tolerated between us and the provider
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
MAX_TOKEN_CHARS = 64_000


class OidcError(Exception):
    """The provider could not be reached or its answer is not to be trusted; `reason` is for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(OidcError):
    """The provider did not answer as a provider should (down, misconfigured)."""


@dataclass(frozen=True)
class Attempt:
    url: str
    state: str
    nonce: str
    code_verifier: str


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class Provider:
    """One identity provider as this process knows it: metadata and keys, cached."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self._client_secret = secret.get_secret_value() if secret else ""
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    # --- Discovery and keys ---------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_LIFETIME:
                found = _get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
                for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(name), str):
                        raise Unreachable(f"discovery document has no {name}")
                if found["issuer"] != self.issuer:
                    raise Unreachable(f"discovery names issuer {found['issuer']!r}, not {self.issuer!r}")
                self._metadata, self._metadata_at = found, time.monotonic()
                self._keys = None
            return self._metadata

    def keys(self, kid: str | None) -> "KeySet":
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        jwks_uri = self.metadata()["jwks_uri"]
        with self._lock:
            stale = self._keys is None or (kid is not None and kid not in _kids(self._keys))
            if stale and (self._keys is None or time.monotonic() - self._keys_at > KEY_REFRESH_GAP):
                try:
                    self._keys = KeySet.import_key_set(_get_json(jwks_uri))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise Unreachable(f"the provider's keys could not be read: {type(exc).__name__}") from None
                self._keys_at = time.monotonic()
            assert self._keys is not None
            return self._keys

    # --- The flow -------------------------------------------------------------------------

    def begin(self, *, redirect_uri: str) -> Attempt:
        from authlib.common.security import generate_token

        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        with self._session(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
        return Attempt(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def finish(self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the code and return the ID token's claims, every check passed."""
        import requests
        from authlib.integrations.base_client import OAuthError

        endpoint = self.metadata()["token_endpoint"]
        try:
            with self._session(redirect_uri) as client:
                token = client.fetch_token(endpoint, grant_type="authorization_code", code=code,
                                           code_verifier=code_verifier, timeout=TIMEOUT)
        except OAuthError as exc:
            raise OidcError(f"the provider refused the code: {exc.error}") from None
        except (requests.RequestException, ValueError) as exc:
            raise Unreachable(f"the token endpoint did not answer: {type(exc).__name__}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token or len(id_token) > MAX_TOKEN_CHARS:
            raise OidcError("the token answer has no ID token")
        return self.verify(id_token, nonce=nonce)

    def verify(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        keys = self.keys(_header(id_token).get("kid"))
        try:
            decoded = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            claims = jwt.JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            claims.validate(decoded.claims)
        except JoseError as exc:
            raise OidcError(f"the ID token failed a check: {type(exc).__name__} {exc.description or ''}") from None
        except (ValueError, TypeError) as exc:
            raise OidcError(f"the ID token could not be read: {type(exc).__name__}") from None
        found = dict(decoded.claims)
        audiences = found["aud"] if isinstance(found["aud"], list) else [found["aud"]]
        if len(audiences) > 1 and found.get("azp") != self.client_id:
            raise OidcError("the ID token is for several audiences and not authorised for us")
        if not isinstance(found["sub"], str) or not found["sub"]:
            raise OidcError("the ID token has no subject")
        return found

    def _session(self, redirect_uri: str) -> "OAuth2Session":
        from authlib.integrations.requests_client import OAuth2Session

        methods = self.metadata().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return OAuth2Session(self.client_id, self._client_secret, scope=SCOPE, redirect_uri=redirect_uri,
                             code_challenge_method="S256", token_endpoint_auth_method=method)


_providers: dict[tuple[str, str], Provider] = {}
_providers_lock = threading.Lock()


def provider_for(settings: Settings) -> Provider:
    """The process's one Provider for these settings (its cache outlives a request)."""
    key = (settings.oidc_issuer, settings.oidc_client_id)
    with _providers_lock:
        if key not in _providers:
            _providers[key] = Provider(settings)
        return _providers[key]


def subject_of(claims: dict[str, Any]) -> str:
    """A person's lasting id at the provider, qualified by who vouches for it.

    Entra ID's `sub` differs for each application; its object id (`oid`) within the tenant (`tid`)
    is the person. Elsewhere `sub` is unique only within its issuer.
    """
    oid, tid = claims.get("oid"), claims.get("tid")
    if isinstance(oid, str) and isinstance(tid, str) and oid and tid:
        subject = f"entra:{tid}:{oid}"
    else:
        subject = f"{claims['iss']}|{claims['sub']}"
    return subject if len(subject) <= 255 else "sha256:" + hashlib.sha256(subject.encode()).hexdigest()


def claim_values(claims: dict[str, Any], name: str) -> list[str]:
    """The role claim's values: a list of strings, or one string (some providers send one group so)."""
    value = claims.get(name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str) and 0 < len(v) <= 200][:500]


def vouches_for_email(claims: dict[str, Any], issuer: str) -> bool:
    """Whether the provider's email claim may be trusted to link an existing password account.

    Yes when the provider says the address is verified, or when the token comes from one Entra
    tenant named in the issuer (the city's own directory, whose administrators set the
    addresses). A multi-tenant issuer would let any tenant claim any address (the "nOAuth"
    weakness): the issuer check refuses those tokens before this is asked.
    """
    if claims.get("email_verified") is True:
        return True
    tid = claims.get("tid")
    return isinstance(tid, str) and bool(tid) and f"/{tid}/" in issuer + "/"


def email_of(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return ""
    return email


def _kids(keys: "KeySet") -> set[str]:
    return {key.kid for key in keys.keys if key.kid}


def _header(token: str) -> dict[str, Any]:
    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise OidcError("the ID token's header could not be read") from None
    if not isinstance(header, dict):
        raise OidcError("the ID token's header is not an object")
    return header


def _get_json(url: str) -> dict[str, Any]:
    import requests

    try:
        response = requests.get(url, timeout=TIMEOUT, headers={"accept": "application/json"})
        response.raise_for_status()
        found = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise Unreachable(f"{url} did not answer with JSON: {type(exc).__name__}") from None
    if not isinstance(found, dict):
        raise Unreachable(f"{url} did not answer with a JSON object")
    return found

"""X OAuth 2.0: a new access token from the refresh token (POST /2/oauth2/token).

X's refresh tokens are single use: every refresh answers a new pair, and the
old refresh token stops working. The caller must store the pair before anyone
refreshes again (civicpost.renewal holds the channel's row lock around this).
HTTP only, like an adapter.
"""

from datetime import datetime, timedelta
from typing import Any

import httpx

from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import CredentialsError, PermanentError, RateLimited, Renewed, TransientError

X_API = "https://api.x.com"


def refresh(credentials: dict[str, Any], settings: dict[str, Any], *, now: datetime, timeout: float,
            guard: AddressGuard | None = None) -> Renewed:
    """The channel's credentials with the rotated pair, and when the new access token ends."""
    refresh_token, client_id = credentials.get("oauth2_refresh_token"), credentials.get("client_id")
    if not refresh_token or not client_id:
        raise CredentialsError("the channel has no OAuth 2.0 refresh token and client ID to renew its access with")
    base = str(settings.get("api_base") or X_API).rstrip("/")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    secret = credentials.get("client_secret")
    auth = httpx.BasicAuth(str(client_id), str(secret)) if secret else httpx.USE_CLIENT_DEFAULT
    try:
        with httpx.Client(timeout=timeout, event_hooks=guard.httpx_hooks() if guard else None) as client:
            response = client.post(f"{base}/2/oauth2/token", data=form,
                                   auth=auth)
    except httpx.TransportError as exc:
        raise TransientError(f"X could not be reached to renew access: {exc}") from exc
    answer = _json(response)
    if response.status_code == 429:
        reset = response.headers.get("x-rate-limit-reset")
        wait = max(0.0, float(reset) - now.timestamp()) if reset and reset.isdigit() else None
        raise RateLimited("X asked civicpost to wait before renewing access", retry_after=wait)
    if response.status_code >= 500:
        raise TransientError(f"X answered {response.status_code} to renewing access")
    if response.status_code in (400, 401, 403):
        said = answer.get("error_description") or answer.get("error") or f"HTTP {response.status_code}"
        raise CredentialsError(f"X refused to renew access ({said}): connect the account again and paste the new "
                               "tokens")
    token, rotated = answer.get("access_token"), answer.get("refresh_token")
    if response.status_code != 200 or not token:
        raise PermanentError(f"X answered {response.status_code} to renewing access, without a new token")
    expires_in = answer.get("expires_in")
    return Renewed(
        credentials={**credentials, "oauth2_access_token": token, "oauth2_refresh_token": rotated or refresh_token},
        expires_at=now + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int) else None,
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}

"""A signed JSON POST to any URL, for systems civicpost has no adapter for.

The convention a receiver implements:

- Each request is a POST of JSON to `settings.url` with
  `X-Civicpost-Timestamp` (Unix seconds) and `X-Civicpost-Signature:
  sha256=<hex HMAC-SHA256, keyed with the channel secret, of the timestamp,
  a ".", and the raw body>`; signing the time lets a receiver refuse replays
  (say, anything older than five minutes),
  `X-Civicpost-Event` (`publish` or `retract`) and `Idempotency-Key`.
- `publish` sends the rendered announcement JSON. Answer 2xx, optionally with
  `{"id": "...", "url": "..."}`; without an id the delivery key is the id.
- `retract` sends `{"event": "retract", "id": "<that id>"}`. 2xx, 404 and 410
  all mean "gone".
- The receiver must treat a repeated Idempotency-Key as the same request.
  That is what makes a re-send after a timeout safe, and why `find` has
  nothing to ask: it returns None.
- 429 and 5xx (with `Retry-After`) mean "later"; 401/403 mean the secret is
  wrong; any other 4xx refuses the post for good. A JSON answer's `error`
  (or `message`) is shown to staff, shortened; nothing else of the body is.
"""

import hashlib
import hmac
import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from civicpost.platforms._support import answered, plain, short
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    CredentialsError,
    Outgoing,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("secret"):
            raise CredentialsError("webhook channel has no secret")
        if not settings.get("url"):
            raise PermanentError("webhook channel has no url")
        self._secret = str(credentials["secret"])
        self._url = str(settings["url"])
        self._http = httpx.Client(timeout=timeout, event_hooks=guard.httpx_hooks() if guard else None)

    def publish(self, outgoing: Outgoing) -> Receipt:
        payload = outgoing.extra.get("json")
        if payload is None:
            try:
                payload = json.loads(outgoing.text)
            except ValueError as exc:
                raise PermanentError(f"webhook text is not JSON: {short(exc)}") from exc
        response = self._post(payload, event="publish", idempotency_key=outgoing.key)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        remote_id = str(answer.get("id") or outgoing.key)
        return Receipt(remote_id=remote_id, remote_url=answer.get("url"), part_ids=[remote_id])

    def delete(self, remote_id: str) -> None:
        self._post({"event": "retract", "id": remote_id}, event="retract", idempotency_key=f"{remote_id}:retract")

    def find(self, outgoing: Outgoing) -> Receipt | None:
        return None

    def check(self) -> dict[str, Any]:
        # No probe: a test POST would reach the receiver as if it were an announcement.
        return {"url": self._url}

    def _post(self, payload: Any, *, event: str, idempotency_key: str) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Civicpost-Signature": signature(self._secret, timestamp, body),
            "X-Civicpost-Timestamp": timestamp,
            "X-Civicpost-Event": event,
            "Idempotency-Key": idempotency_key,
        }
        try:
            response = self._http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            # Safe to re-send whether or not it arrived: the receiver deduplicates.
            raise TransientError(f"webhook not delivered: {plain(exc)}") from exc
        status = response.status_code
        if response.is_success or (event == "retract" and status in {404, 410}):
            return response
        message = answered("the webhook receiver", status, response.reason_phrase, _own_words(response))
        if status == 429:
            raise RateLimited(message, retry_after=_retry_after(response))
        if status >= 500 or status == 408:
            raise TransientError(message, retry_after=_retry_after(response))
        if status in {401, 403}:
            raise CredentialsError(message)
        raise PermanentError(message)


def _own_words(response: httpx.Response) -> str | None:
    """The receiver's `error` or `message`, if it answered in JSON; never the raw body."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    said = body.get("error") or body.get("message")
    return said if isinstance(said, str) else None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None

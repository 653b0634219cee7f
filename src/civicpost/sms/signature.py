"""The provider's request signature: `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, the
full URL it called + every form field's name and value, sorted by name)), as Twilio documents it."""

import base64
import hashlib
import hmac
from collections.abc import Iterable


def sign(auth_token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    signed = url + "".join(name + value for name, value in sorted(fields))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def valid(auth_token: str, url: str, fields: Iterable[tuple[str, str]], signature: str) -> bool:
    return hmac.compare_digest(sign(auth_token, url, fields).encode(), signature.encode())

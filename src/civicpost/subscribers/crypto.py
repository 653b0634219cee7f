"""Residents' addresses at rest: encrypted to read back, digested (keyed HMAC) to look up.

Both keys are derived (HKDF-SHA256) from CIVICPOST_SECRET_KEY with their own labels, so neither
is the channel-credentials key and a leaked database alone reveals no address: without the
secret key a digest cannot even be checked against a guessed address.
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class AddressUnreadable(RuntimeError):
    """An address cannot be decrypted: the secret key is not the one it was stored with."""


def _derive(secret_key: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"civicpost-subscribers\x00" + label).derive(
        secret_key.encode())


class SubscriberBox:
    """Seals and digests addresses and numbers; signs the links in residents' mail."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret_key, b"seal")))
        self._digest_key = _derive(secret_key, b"digest")
        self._link_key = _derive(secret_key, b"links")

    def seal(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            raise AddressUnreadable(
                "a subscriber's address cannot be decrypted: CIVICPOST_SECRET_KEY differs from the key it was "
                "stored with; restore that key") from None

    def digest(self, normalised: str) -> str:
        return hmac.new(self._digest_key, normalised.encode(), hashlib.sha256).hexdigest()

    def sign(self, *parts: str) -> str:
        """A URL-safe MAC of the parts (24 bytes: 192 bits, short enough for a link in an SMS)."""
        mac = hmac.new(self._link_key, "\x00".join(parts).encode(), hashlib.sha256).digest()[:24]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def check(self, mac: str, *parts: str) -> bool:
        return hmac.compare_digest(mac.encode(), self.sign(*parts).encode())

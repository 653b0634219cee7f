"""Passwords (argon2), API tokens (stored as SHA-256) and channel credentials (Fernet)."""

import base64
import hashlib
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()

TOKEN_PREFIX = "cp_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: nobody can
    # brute-force them, and the lookup stays a single indexed equality.
    return hashlib.sha256(token.encode()).hexdigest()


class CredentialBox:
    """Encrypts a channel's credentials with a key derived from CIVICPOST_SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"civicpost-credentials\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def open(self, sealed: bytes | None) -> dict[str, Any]:
        if not sealed:
            return {}
        try:
            return json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise CredentialsUnreadable(
                "channel credentials cannot be decrypted: CIVICPOST_SECRET_KEY differs from "
                "the key they were stored with; restore that key or enter the credentials again"
            ) from None


class CredentialsUnreadable(RuntimeError):
    pass

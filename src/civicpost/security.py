"""Passwords (argon2), API tokens (stored as SHA-256) and channel credentials (Fernet)."""

import base64
import hashlib
import json
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

# argon2id at argon2-cffi's RFC 9106 low-memory profile: 64 MiB, three passes, four lanes.
_hasher = PasswordHasher()
# Checked against when an email is unknown (or the attempt must wait), so every answer is equally
# slow: a hash of nothing anybody types, at the same cost. Written out, not computed at import:
# argon2 takes 64 MiB while it hashes, which would be the peak memory of every process that imports this.
_unknown_account_hash = (
    "$argon2id$v=19$m=65536,t=3,p=4$rSX0jYmNLABJ0q43UP20fQ$HFu+IK4f5GFUwpws0OqojqEDWWFi4zTZOywcvfJPQAs"
)

TOKEN_PREFIX = "cp_"


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with `hasher` from now on (argon2 tuned to other hardware, or cheap in the
    tests); answers the one before. Hashes made at any cost still verify: each carries its own."""
    global _hasher, _unknown_account_hash
    before = _hasher
    _hasher, _unknown_account_hash = hasher, hasher.hash(secrets.token_urlsafe(16))
    return before


def unknown_account_hash() -> str:
    """What a password is checked against when no account matches, at the cost of a real one."""
    return _unknown_account_hash


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

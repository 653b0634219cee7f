"""The Ed25519 key that signs every export's tag manifest.

With CIVICPOST_EXPORT_SIGNING_KEY the key is that PEM file. Without it, a key is derived
from CIVICPOST_SECRET_KEY with HKDF-SHA256 (no salt, info "civicpost export signing key v1",
32 bytes used as the Ed25519 private key), so a default install signs with a key that stays
the same across restarts and machines sharing the secret key, and is never stored anywhere.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from civicpost.config import ConfigError, Settings

HKDF_INFO = b"civicpost export signing key v1"


def private_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.export_signing_key is not None:
        path = settings.export_signing_key
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise ConfigError(f"CIVICPOST_EXPORT_SIGNING_KEY names {path}, which does not exist") from None
        except (ValueError, TypeError):
            raise ConfigError(f"CIVICPOST_EXPORT_SIGNING_KEY: {path} is not an unencrypted PEM private key; "
                              "make one with: openssl genpkey -algorithm ed25519 -out export-key.pem") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ConfigError(f"CIVICPOST_EXPORT_SIGNING_KEY: {path} is not an Ed25519 key; "
                              "make one with: openssl genpkey -algorithm ed25519 -out export-key.pem")
        return loaded
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        settings.fernet_key().encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public(pem: bytes) -> Ed25519PublicKey:
    """The public key in `pem` (SubjectPublicKeyInfo, as /.well-known/civicpost-export.pub serves it)."""
    try:
        loaded = serialization.load_pem_public_key(pem)
    except ValueError:
        raise ValueError("the public key is not a PEM public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    return loaded


def signed_by(public: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True

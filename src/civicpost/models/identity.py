"""Second factors and recovery codes (SPEC §8.6).

A person who signs in with a password may add an authenticator app (TOTP,
its secret sealed with the credential key) and passkeys (WebAuthn: the
credential's id and public key, never anything secret); ten one-time recovery
codes, stored as SHA-256 like API tokens, stand in for a lost device.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow

TOTP = "totp"
PASSKEY = "passkey"


class SecondFactor(Base):
    __tablename__ = "second_factors"
    __table_args__ = (UniqueConstraint("credential_id", name="uq_second_factors_credential_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # TOTP or PASSKEY
    name: Mapped[str] = mapped_column(String(100), default="")
    # TOTP: the shared secret, sealed (CredentialBox); the last 30-second step used, so a code works once.
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_step: Mapped[int | None] = mapped_column()
    # Passkey: the credential's id (base64url), its COSE public key, and the authenticator's counter.
    credential_id: Mapped[str | None] = mapped_column(String(1400))
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0)
    transports: Mapped[str | None] = mapped_column(String(200))
    # A TOTP secret is kept from the moment it is shown; it counts once a first code confirms it.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SamlRequest(Base):
    """A SAML sign-in civicpost asked the identity provider for, kept until its answer arrives.

    The answer's InResponseTo must name a row here that is not used yet and not too old; marking it
    used is one UPDATE in the sign-in's transaction, so an answer is accepted once, whichever process
    receives it (a replay finds `used_at` set)."""

    __tablename__ = "saml_requests"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the AuthnRequest's ID
    next_url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

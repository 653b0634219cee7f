"""Passkeys (WebAuthn) as a second factor, with the `webauthn` package.

The relying party is the host of CIVICPOST_BASE_URL (WebAuthn refuses an IP
address: the demo and tests use `localhost`), and the only origin accepted is
that URL's scheme, host and port. Each ceremony's challenge is kept in the
staff session by the page that asked for it and is used once. The
authenticator's signature counter must move forward (a copied key would fall
behind); the package refuses a counter that goes back.
"""

import ipaddress
import json
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.errors import Conflict, Invalid
from civicpost.models import User
from civicpost.models.identity import PASSKEY, SecondFactor

# `webauthn` is imported by the functions that use it, at first use: 14 MB that a
# web process holds only once someone adds or uses a passkey (docs/benchmarks.md).
if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

# A credential as the browser sends it is a few hundred bytes to a few kilobytes.
MAX_CREDENTIAL_JSON = 20_000


def rp_id(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def unavailable(settings: Settings) -> str | None:
    """Why passkeys cannot work at this service's address, in words for the person; None when they can."""
    host = rp_id(settings)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    port = urlsplit(settings.base_url).port
    local = f"http://localhost{f':{port}' if port else ''}"
    return (f"Passkeys need the site to have a name, and this one is reached at the address {host}. "
            f"Use an authenticator app, or ask whoever runs civicpost to set CIVICPOST_BASE_URL to its name "
            f"(on this computer: {local}) and open it there.")


def origin(settings: Settings) -> str:
    parts = urlsplit(settings.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _passkeys(session: Session, *, user_id: int) -> list[SecondFactor]:
    return list(session.scalars(select(SecondFactor).where(
        SecondFactor.user_id == user_id, SecondFactor.kind == PASSKEY, SecondFactor.confirmed_at.is_not(None))))


def _descriptor(factor: SecondFactor) -> "PublicKeyCredentialDescriptor":
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(factor.credential_id or ""))


def registration_options(session: Session, *, user: User, settings: Settings) -> tuple[str, str]:
    """The options for navigator.credentials.create() (JSON) and the challenge to keep."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id(settings), rp_name=f"{settings.city_name} civicpost", user_name=user.email,
        user_id=f"civicpost-user-{user.id}".encode(), user_display_name=user.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[_descriptor(f) for f in _passkeys(session, user_id=user.id)],
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def authentication_options(session: Session, *, user: User, settings: Settings) -> tuple[str, str]:
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=rp_id(settings), allow_credentials=[_descriptor(f) for f in _passkeys(session, user_id=user.id)],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def _parsed(credential: str) -> dict:
    if not credential or len(credential) > MAX_CREDENTIAL_JSON:
        raise Invalid("the passkey's answer is missing or too long; try again")
    try:
        parsed = json.loads(credential)
    except ValueError:
        raise Invalid("the passkey's answer could not be read; try again") from None
    if not isinstance(parsed, dict):
        raise Invalid("the passkey's answer could not be read; try again")
    return parsed


def register(session: Session, *, user: User, settings: Settings, credential: str, challenge: str,
             name: str = "") -> SecondFactor:
    from webauthn import verify_registration_response
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_registration_response(
            credential=_parsed(credential), expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id(settings), expected_origin=origin(settings),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise Invalid("the passkey could not be checked; try adding it again") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.scalar(select(SecondFactor.id).where(SecondFactor.credential_id == credential_id)) is not None:
        raise Conflict("that passkey is already added")
    transports = _parsed(credential).get("response", {}).get("transports") or []
    factor = SecondFactor(
        user_id=user.id, kind=PASSKEY, name=name.strip()[:100] or "Passkey", credential_id=credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        transports=" ".join(str(t) for t in transports if isinstance(t, str))[:200] or None,
        confirmed_at=utcnow(),
    )
    session.add(factor)
    session.flush()
    audit.record(session, actor=user, action="factor.add", object_type="user", object_id=user.id,
                 detail={"kind": PASSKEY, "name": factor.name})
    return factor


def authenticate(session: Session, *, user: User, settings: Settings, credential: str, challenge: str,
                 now: datetime | None = None) -> SecondFactor | None:
    """The person's passkey that signed this challenge, its counter moved on; None if it does not check."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.exceptions import WebAuthnException

    parsed = _parsed(credential)
    factor = next((f for f in _passkeys(session, user_id=user.id) if f.credential_id == parsed.get("id")), None)
    if factor is None or factor.public_key is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=base64url_to_bytes(challenge), expected_rp_id=rp_id(settings),
            expected_origin=origin(settings), credential_public_key=factor.public_key,
            credential_current_sign_count=factor.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None
    factor.sign_count, factor.last_used_at = verified.new_sign_count, now or utcnow()
    return factor

"""SAML 2.0 sign-in (the optional extra `civicpost[saml]`: pysaml2, which signs and checks with the xmlsec1 program).

civicpost is the service provider; the identity provider comes from the metadata file in
`CIVICPOST_SAML_IDP_METADATA`. An answer is accepted only if the assertion or the whole response is
signed by the identity provider's key, names civicpost's entity id as its audience, is within its
NotBefore/NotOnOrAfter, and answers (InResponseTo) a request civicpost sent that has not been
answered yet (the saml_requests table, so this holds across processes).
"""

import hashlib
import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.orm import Session

from civicpost.config import ConfigError, Settings
from civicpost.db import utcnow
from civicpost.models import SamlRequest

log = logging.getLogger(__name__)

START_PATH = "/staff/login/saml"
ACS_PATH = "/staff/login/saml/acs"
METADATA_PATH = "/staff/login/saml/metadata"
# How long a person may take at the identity provider; answers to older requests are refused.
REQUEST_LIFETIME = timedelta(minutes=10)
# Clock difference allowed with the identity provider (NotBefore / NotOnOrAfter).
CLOCK_SKEW_SECONDS = 60
INSTALL_HINT = ("pip install 'civicpost[saml]' and install the xmlsec1 program "
                "(Debian and Ubuntu: apt-get install xmlsec1)")

TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
# Where identity providers usually put a person's email and name (LDAP names, their OIDs, ADFS / Entra ID URIs).
EMAIL_ATTRIBUTES = ("mail", "email", "emailaddress", "urn:oid:0.9.2342.19200300.100.1.3",
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")
NAME_ATTRIBUTES = ("displayname", "urn:oid:2.16.840.1.113730.3.1.241",
                   "http://schemas.microsoft.com/identity/claims/displayname", "cn", "urn:oid:2.5.4.3")


class SamlUnavailable(ConfigError):
    """SAML is configured but cannot work here; the message says what to install or fix."""


class SamlRefused(Exception):
    """An answer from the identity provider that civicpost does not accept; `message` is for the person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Person:
    """Who the identity provider vouched for, read from a checked assertion."""

    subject: str  # the NameID qualified by the identity provider's entity id
    email: str
    name: str
    roles: list[str]


def installed() -> bool:
    try:
        import saml2  # noqa: F401
    except ImportError:
        return False
    return True


class ServiceProvider:
    """civicpost's side of SAML, built once at start-up from the settings and the identity provider's metadata."""

    def __init__(self, settings: Settings) -> None:
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.config import SPConfig

        assert settings.saml_idp_metadata is not None
        base = settings.base_url.rstrip("/")
        self.entity_id = base + METADATA_PATH
        self.acs_url = base + ACS_PATH
        self.roles_attribute = settings.saml_roles_attribute
        self.role_map = settings.oidc_role_map
        xmlsec = shutil.which("xmlsec1")
        if xmlsec is None:
            raise SamlUnavailable("CIVICPOST_SAML_IDP_METADATA is set but the xmlsec1 program is missing: "
                                  + INSTALL_HINT)
        metadata = Path(settings.saml_idp_metadata)
        if not metadata.is_file():
            raise SamlUnavailable(f"CIVICPOST_SAML_IDP_METADATA names {metadata}, which is not a readable file: "
                                  "save the identity provider's metadata XML there")
        self.config = SPConfig()
        try:
            self.config.load({
                "entityid": self.entity_id,
                "xmlsec_binary": xmlsec,
                "metadata": {"local": [str(metadata)]},
                "accepted_time_diff": CLOCK_SKEW_SECONDS,
                "allow_unknown_attributes": True,
                "service": {"sp": {
                    "endpoints": {"assertion_consumer_service": [(self.acs_url, BINDING_HTTP_POST)]},
                    "want_assertions_or_response_signed": True,
                    "want_response_signed": False,
                    "want_assertions_signed": False,
                    "authn_requests_signed": False,
                    "allow_unsolicited": False,
                    "name_id_format": PERSISTENT,
                }},
            })
        except Exception as error:  # pysaml2 raises many kinds for a bad file
            raise SamlUnavailable(f"CIVICPOST_SAML_IDP_METADATA ({metadata}) could not be read as SAML metadata: "
                                  f"{error}") from None
        providers = list(self.config.metadata.identity_providers())
        if len(providers) != 1:
            raise SamlUnavailable(f"CIVICPOST_SAML_IDP_METADATA ({metadata}) names {len(providers)} identity "
                                  "providers; civicpost needs a file that names exactly one")
        self.idp_entity_id: str = providers[0]
        self._redirect = BINDING_HTTP_REDIRECT
        self._post = BINDING_HTTP_POST

    def _client(self) -> Any:
        from saml2.client import Saml2Client

        # A client per use: pysaml2 keeps every person it has seen in memory on the client.
        return Saml2Client(config=self.config)

    def metadata_xml(self) -> str:
        from saml2.metadata import entity_descriptor

        return str(entity_descriptor(self.config))

    def start(self, session: Session, *, next_url: str) -> str:
        """The identity provider's address to send the person to, with a new AuthnRequest; the request is
        remembered so its answer can be accepted once."""
        from saml2.samlp import NameIDPolicy

        request_id, info = self._client().prepare_for_authenticate(
            entityid=self.idp_entity_id, binding=self._redirect,
            name_id_policy=NameIDPolicy(format=PERSISTENT, allow_create="true"),
        )
        forget_old(session)
        session.add(SamlRequest(id=request_id, next_url=next_url))
        return dict(info["headers"])["Location"]

    def accept(self, session: Session, *, saml_response: str) -> tuple[Person, str]:
        """The person a POSTed SAMLResponse vouches for, and where they were going; SamlRefused if
        the answer is not one civicpost accepts. Uses up the request it answers."""
        request_id = _in_response_to(saml_response)
        if request_id is None:
            raise SamlRefused("unsolicited", "civicpost did not ask for this sign-in. Start again from civicpost's "
                                             "sign-in page.")
        asked = session.get(SamlRequest, request_id)
        if asked is None or asked.created_at < utcnow() - REQUEST_LIFETIME:
            raise SamlRefused("unsolicited", "civicpost did not ask for this sign-in, or asked too long ago. "
                                             "Start again from civicpost's sign-in page.")
        if asked.used_at is not None:
            raise SamlRefused("replayed", "This sign-in answer was already used. Start again from civicpost's "
                                          "sign-in page.")
        person = self._check(saml_response, request_id=request_id, next_url=asked.next_url)
        # One UPDATE that only one transaction can win: a copy of the answer arriving at the same time,
        # in this process or another, finds it used.
        used = cast(CursorResult, session.execute(
            update(SamlRequest).where(SamlRequest.id == request_id, SamlRequest.used_at.is_(None))
            .values(used_at=utcnow())))
        if used.rowcount != 1:
            raise SamlRefused("replayed", "This sign-in answer was already used. Start again from civicpost's "
                                          "sign-in page.")
        return person, asked.next_url

    def _check(self, saml_response: str, *, request_id: str, next_url: str) -> Person:
        from saml2.sigver import SignatureError
        from saml2.validate import ResponseLifetimeExceed, ToEarly

        try:
            answer = self._client().parse_authn_request_response(
                saml_response, self._post, outstanding={request_id: next_url})
        except (ResponseLifetimeExceed, ToEarly) as error:
            log.warning("SAML answer out of its time: %s", error)
            raise SamlRefused("expired", _EXPIRED) from None
        except SignatureError as error:
            log.warning("SAML answer with a bad signature: %s", error)
            raise SamlRefused("signature", _UNTRUSTED) from None
        except Exception as error:  # pysaml2 raises plain Exception or VerificationError for much else
            log.warning("SAML answer refused: %s: %s", type(error).__name__, error)
            raise SamlRefused(*self._why_refused(saml_response)) from None
        if answer is None or answer.assertion is None:
            raise SamlRefused("invalid", _UNTRUSTED)
        assertion = answer.assertion
        if answer.in_response_to != request_id:
            raise SamlRefused("unsolicited", _UNTRUSTED)
        # pysaml2 accepts an assertion without an audience restriction; civicpost does not.
        conditions = assertion.conditions
        audiences = [a.text.strip() for r in (conditions.audience_restriction if conditions else []) or []
                     for a in r.audience or [] if a.text]
        if self.entity_id not in audiences:
            raise SamlRefused("audience", _NOT_FOR_US)
        name_id = answer.name_id
        if name_id is None or not (name_id.text or "").strip():
            raise SamlRefused("no_subject", "The identity provider did not say who you are (no NameID). Ask your "
                                            "IT department to send a persistent NameID to civicpost.")
        if name_id.format == TRANSIENT:
            raise SamlRefused("transient", "The identity provider sent a one-time (transient) NameID, which cannot "
                                           "name your civicpost account. Ask your IT department to send a "
                                           "persistent NameID to civicpost.")
        attributes = _attributes(assertion)
        email_values = _first(attributes, EMAIL_ATTRIBUTES)
        email = email_values[0] if email_values else ""
        if not email and name_id.format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress":
            email = name_id.text.strip()
        if not email:
            raise SamlRefused("no_email", "The identity provider did not send your email address. Ask your IT "
                                          "department to release the email (mail) attribute to civicpost.")
        names = _first(attributes, NAME_ATTRIBUTES)
        return Person(
            subject=subject_of(self.idp_entity_id, name_id.text.strip()),
            email=email, name=names[0] if names else "",
            roles=attributes.get(self.roles_attribute.lower(), []),
        )


    def _why_refused(self, saml_response: str) -> tuple[str, str]:
        """What to tell the person when pysaml2 refused an answer without saying why ("Condition not OK").

        Read from the unverified answer only to choose the words: the answer is refused whatever this says."""
        from saml2 import time_util

        document = _document(saml_response)
        saml = "{urn:oasis:names:tc:SAML:2.0:assertion}"
        now = time_util.utc_now()
        for conditions in document.iter(f"{saml}Conditions"):
            try:
                ends = conditions.get("NotOnOrAfter")
                begins = conditions.get("NotBefore")
                if ends and now > _seconds(ends) + CLOCK_SKEW_SECONDS:
                    return "expired", _EXPIRED
                if begins and now < _seconds(begins) - CLOCK_SKEW_SECONDS:
                    return "expired", _EXPIRED
            except (ValueError, TypeError):
                continue
            audiences = [(a.text or "").strip() for a in conditions.iter(f"{saml}Audience")]
            if audiences and self.entity_id not in audiences:
                return "audience", _NOT_FOR_US
        return "invalid", _UNTRUSTED


def _seconds(timestamp: str) -> int:
    import calendar

    from saml2 import time_util

    return calendar.timegm(time_util.str_to_time(timestamp))


_EXPIRED = ("This sign-in answer has expired (or this server's clock is wrong). Start again from civicpost's "
            "sign-in page.")
_UNTRUSTED = ("civicpost could not verify this sign-in answer from the identity provider. Start again from "
              "civicpost's sign-in page; if it happens again, tell your IT department.")
_NOT_FOR_US = ("This sign-in answer was meant for another service, not civicpost. Ask your IT department to check "
               "civicpost's SAML set-up (its entity id).")


def subject_of(idp_entity_id: str, name_id: str) -> str:
    """The account's single sign-on subject: the NameID within its identity provider (hashed if too long to store)."""
    subject = f"{idp_entity_id}!{name_id}"
    return subject if len(subject) <= 255 else "sha256:" + hashlib.sha256(subject.encode()).hexdigest()


def forget_old(session: Session) -> None:
    """Requests too old to be answered are of no more use (a day kept, so a late replay still reads as one)."""
    session.execute(delete(SamlRequest).where(SamlRequest.created_at < utcnow() - timedelta(days=1)))


def _document(saml_response: str) -> Any:
    """The answer's XML, parsed without entities or DTDs (defusedxml), not yet verified."""
    import base64
    import binascii

    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        return ElementTree.fromstring(base64.b64decode(saml_response, validate=False))
    except (binascii.Error, ValueError, ElementTree.ParseError, DefusedXmlException):
        raise SamlRefused("malformed", "That was not a SAML sign-in answer. Start again from civicpost's "
                                       "sign-in page.") from None


def _in_response_to(saml_response: str) -> str | None:
    value = _document(saml_response).get("InResponseTo")
    return value if value and len(value) <= 100 else None


def _attributes(assertion: Any) -> dict[str, list[str]]:
    """Every attribute's values, under its name and its friendly name, lower-cased."""
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = [v.text.strip() for v in attribute.attribute_value or [] if v.text and v.text.strip()]
            for key in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(key.lower(), []).extend(values)
    return found


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> list[str]:
    for name in names:
        if attributes.get(name):
            return attributes[name]
    return []


def service_provider(settings: Settings) -> ServiceProvider | None:
    """None without CIVICPOST_SAML_IDP_METADATA; SamlUnavailable (stopping start-up) if it cannot work."""
    if settings.saml_idp_metadata is None:
        return None
    if not installed():
        raise SamlUnavailable(f"CIVICPOST_SAML_IDP_METADATA is set but SAML support is not installed: {INSTALL_HINT}")
    return ServiceProvider(settings)

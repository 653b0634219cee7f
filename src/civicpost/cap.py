"""CAP 1.2 (OASIS Common Alerting Protocol) documents for emergency announcements.

civicpost writes CAP beside its social posts so that an alerting system (a
city's IPAWS tool, a county's aggregator, a news desk) can take the same
words in the one format they all read. The XML is built with lxml, checked
against the OASIS schema (a copy is in civicpost/data/cap) with xmlschema
before it leaves, and signed (enveloped XML-DSig, RSA-SHA256) with signxml
when the city gives a key and certificate.

Times: CAP wants `2026-12-03T06:00:00-06:00`, never `Z`; they are written in
the city's zone with its offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # lxml is imported where a document is made: the API's schemas need only the Literals below
    from lxml import etree

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA = Path(__file__).parent / "data" / "cap" / "CAP-v1.2-schema.xsd"

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Category = Literal["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                   "CBRNE", "Other"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
ResponseType = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"]


class CapInvalid(ValueError):
    """A document that does not validate: a bug to fix, never sent."""


@dataclass(frozen=True)
class Area:
    description: str
    # Each polygon: at least four "lat,lon" points, the first repeated last (CAP 1.2 §3.3.2.2).
    polygons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Info:
    language: str
    category: Category
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    headline: str
    description: str
    area: Area
    instruction: str | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    web: str | None = None
    response_type: ResponseType | None = None


@dataclass(frozen=True)
class Reference:
    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Message:
    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    infos: tuple[Info, ...]
    references: tuple[Reference, ...] = ()
    note: str | None = None
    scope: Literal["Public"] = "Public"
    incidents: tuple[str, ...] = field(default=())


def cap_time(moment: datetime, zone: ZoneInfo) -> str:
    """2026-12-03T06:00:00-06:00: seconds, and an offset even for UTC (CAP forbids Z)."""
    if moment.tzinfo is None:
        raise ValueError("a CAP time needs a time zone")
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def build(message: Message, zone: ZoneInfo) -> etree._Element:
    """The <alert> element, its children in the order the schema requires."""
    from lxml import etree

    alert = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})

    def add(parent: etree._Element, name: str, text: str | None) -> None:
        if text is not None:
            etree.SubElement(parent, f"{{{NS}}}{name}").text = text

    add(alert, "identifier", message.identifier)
    add(alert, "sender", message.sender)
    add(alert, "sent", cap_time(message.sent, zone))
    add(alert, "status", message.status)
    add(alert, "msgType", message.msg_type)
    add(alert, "scope", message.scope)
    add(alert, "note", message.note)
    if message.references:
        add(alert, "references", " ".join(
            f"{r.sender},{r.identifier},{cap_time(r.sent, zone)}" for r in message.references))
    if message.incidents:
        add(alert, "incidents", " ".join(message.incidents))
    for info in message.infos:
        element = etree.SubElement(alert, f"{{{NS}}}info")
        add(element, "language", info.language)
        add(element, "category", info.category)
        add(element, "event", info.event)
        add(element, "responseType", info.response_type)
        add(element, "urgency", info.urgency)
        add(element, "severity", info.severity)
        add(element, "certainty", info.certainty)
        add(element, "expires", cap_time(info.expires, zone) if info.expires else None)
        add(element, "senderName", info.sender_name)
        add(element, "headline", info.headline)
        add(element, "description", info.description)
        add(element, "instruction", info.instruction)
        add(element, "web", info.web)
        area = etree.SubElement(element, f"{{{NS}}}area")
        add(area, "areaDesc", info.area.description)
        for polygon in info.area.polygons:
            add(area, "polygon", polygon)
    return alert


def to_bytes(alert: etree._Element) -> bytes:
    from lxml import etree

    return etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@cache
def _schema():
    import xmlschema

    return xmlschema.XMLSchema(str(SCHEMA))


def validate(document: bytes) -> None:
    """Raise CapInvalid, naming the first problem, unless `document` is valid CAP 1.2."""
    errors = list(_schema().iter_errors(document.decode("utf-8")))
    if errors:
        first = errors[0]
        raise CapInvalid(f"{first.reason} at {first.path}")


def sign(document: bytes, *, key_pem: bytes, cert_pem: bytes) -> bytes:
    """An enveloped XML-DSig signature (RSA-SHA256) over the whole alert."""
    from lxml import etree
    from signxml import SignatureMethod, XMLSigner

    signer = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256)
    signed = signer.sign(etree.fromstring(document), key=key_pem, cert=cert_pem.decode())
    return to_bytes(signed)


def verify(document: bytes, *, cert_pem: bytes) -> etree._Element:
    """The signed alert, if the signature holds for `cert_pem`; raises signxml's InvalidSignature otherwise."""
    from signxml import XMLVerifier

    result = XMLVerifier().verify(document, x509_cert=cert_pem.decode())
    if isinstance(result, list):  # only when asked to expect several references
        result = result[0]
    return result.signed_xml


def polygon_valid(polygon: str) -> bool:
    """CAP 1.2: four or more "lat,lon" pairs separated by spaces, the first and last the same."""
    points = polygon.split()
    if len(points) < 4 or points[0] != points[-1]:
        return False
    try:
        pairs = [tuple(float(x) for x in p.split(",")) for p in points]
    except ValueError:
        return False
    return all(len(p) == 2 and -90 <= p[0] <= 90 and -180 <= p[1] <= 180 for p in pairs)

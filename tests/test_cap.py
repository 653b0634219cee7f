"""CAP 1.2 documents: valid against the OASIS schema, times with offsets, signed and verified."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from civicpost import cap

CHICAGO = ZoneInfo("America/Chicago")
SENT = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def water_main(**changes) -> cap.Message:
    info = cap.Info(
        language="en-US", category="Infra", event="Water main break", urgency="Immediate", severity="Severe",
        certainty="Observed", headline="Boil water advisory for the east side",
        description="A water main broke on Elm Street.", instruction="Boil tap water for one minute before drinking.",
        expires=SENT + dt.timedelta(hours=12), sender_name="City of Springfield",
        area=cap.Area("East side, Elm to Oak Street", ("39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65",)),
    )
    values = dict(identifier="news.city.example-announcement-42-1", sender="news.city.example", sent=SENT,
                  status="Actual", msg_type="Alert", infos=(info,))
    values.update(changes)
    return cap.Message(**values)


def test_an_alert_validates_against_the_oasis_schema_with_offsets_never_z():
    document = cap.to_bytes(cap.build(water_main(), CHICAGO))
    cap.validate(document)
    text = document.decode()
    assert "<sent>2026-12-03T06:00:00-06:00</sent>" in text
    assert "<expires>2026-12-03T18:00:00-06:00</expires>" in text
    assert "Z<" not in text


def test_an_update_and_an_all_clear_reference_the_earlier_message():
    first = water_main()
    reference = cap.Reference(first.sender, first.identifier, first.sent)
    clear = water_main(identifier="news.city.example-announcement-42-2", msg_type="Update", references=(reference,),
                       infos=(cap.Info(**{**first.infos[0].__dict__, "response_type": "AllClear",
                                          "headline": "ALL CLEAR"}),))
    document = cap.to_bytes(cap.build(clear, CHICAGO))
    cap.validate(document)
    root = etree.fromstring(document)
    assert root.findtext(f"{{{cap.NS}}}references") == (
        "news.city.example,news.city.example-announcement-42-1,2026-12-03T06:00:00-06:00")
    assert root.findtext(f"{{{cap.NS}}}info/{{{cap.NS}}}responseType") == "AllClear"


def test_a_document_that_breaks_the_schema_is_refused_by_name():
    broken = cap.to_bytes(cap.build(water_main(), CHICAGO)).replace(b"<status>Actual", b"<status>Maybe")
    with pytest.raises(cap.CapInvalid, match="status"):
        cap.validate(broken)


def throwaway_certificate() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "news.city.example")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def test_a_signed_alert_still_validates_verifies_and_a_changed_word_breaks_the_signature():
    from signxml.exceptions import InvalidSignature

    key_pem, cert_pem = throwaway_certificate()
    signed = cap.sign(cap.to_bytes(cap.build(water_main(), CHICAGO)), key_pem=key_pem, cert_pem=cert_pem)
    cap.validate(signed)
    assert b"rsa-sha256" in signed
    verified = cap.verify(signed, cert_pem=cert_pem)
    assert verified.findtext(f"{{{cap.NS}}}identifier") == "news.city.example-announcement-42-1"
    with pytest.raises(InvalidSignature):
        cap.verify(signed.replace(b"Boil tap water", b"Drink tap water"), cert_pem=cert_pem)


@pytest.mark.parametrize(("polygon", "ok"), [
    ("39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65", True),
    ("39.78,-89.65 39.79,-89.64 39.78,-89.65", False),  # three points
    ("39.78,-89.65 39.79,-89.64 39.77,-89.63 39.70,-89.60", False),  # not closed
    ("91,0 0,0 0,1 91,0", False),  # latitude beyond 90
])
def test_polygons_are_checked_as_cap_defines_them(polygon, ok):
    assert cap.polygon_valid(polygon) is ok

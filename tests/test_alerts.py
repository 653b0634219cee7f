"""Alert details on emergency announcements and the CAP 1.2 documents and feed made from them."""

import datetime as dt
import re

import pytest
from lxml import etree

from civicpost import cap
from tests.factories import (
    create_approved,
    create_channel,
    create_draft,
    grant_emergency_publisher,
    create_published_alert,
    create_submitted,
    end_alert,
    make_alert,
)

ATOM = "{http://www.w3.org/2005/Atom}"


def field_errors(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def text_of(document: bytes, name: str) -> list[str]:
    return [e.text for e in etree.fromstring(document).iter(f"{{{cap.NS}}}{name}")]


def later(**delta) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()



@pytest.fixture(autouse=True)
def parks_staff_may_flag_emergencies(client, city) -> None:
    """Alert details ride on emergencies, which only approvers and emergency publishers may flag."""
    grant_emergency_publisher(client, city.admin, city.parks_staff)


def test_an_emergency_keeps_its_alert_details_and_shows_them_in_the_city_zone(client, city):
    a = create_draft(client, city.parks_staff, emergency=True, alert=make_alert(expires="2030-07-04T18:00:00Z"))
    assert a["alert"]["event"] == "Water main break" and a["alert"]["exercise"] is False
    assert a["alert"]["expires"] == "2030-07-04T14:00:00-04:00"
    shown = client.get(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth).json()
    assert shown["alert"] == a["alert"]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"expires": "2020-01-01T00:00:00Z"}, "alert.expires", "in the past"),
    ({"expires": "2030-07-04T18:00:00"}, "alert.expires", "no time zone offset"),
    ({"expires": "2030-07-04"}, "alert.expires", "needs a time"),
    ({"severity": "Terrible"}, "alert.severity", "Extreme"),
    ({"category": "Weather"}, "alert.category", "Met"),
    ({"urgency": "Soon"}, "alert.urgency", "Immediate"),
    ({"certainty": "Sure"}, "alert.certainty", "Observed"),
    ({"event": ""}, "alert.event", "at least 1 character"),
    ({"event": "x" * 501}, "alert.event", "at most 500"),
    ({"area_desc": "East\nside"}, "alert.area_desc", "line break"),
    ({"polygon": "39.78,-89.65 39.79,-89.64 39.78,-89.65"}, "alert.polygon", "four or more"),
    ({"polygon": "39.78,-89.65 39.79,-89.64 39.77,-89.63 39.70,-89.60"}, "alert.polygon", "first pair repeated"),
    ({"polygon": "91,0 0,0 0,1 91,0"}, "alert.polygon", "latitude -90 to 90"),
    ({"polygon": "0,181 0,0 1,1 0,181"}, "alert.polygon", "longitude -180 to 180"),
    ({"polygon": "north,east 0,0 1,1 north,east"}, "alert.polygon", "lat,lon"),
    ({"wind": "strong"}, "alert.wind", "not a field"),
])
def test_each_wrong_alert_field_is_refused_with_a_sentence_naming_it(client, city, changes, field, words):
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Boil water", "body": "Boil it.", "emergency": True,
                          "alert": make_alert(**changes)})
    assert r.status_code == 422, r.text
    assert words in field_errors(r)[field]


def test_a_missing_alert_field_is_named(client, city):
    alert = make_alert()
    del alert["area_desc"]
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Boil water", "body": "Boil it.", "emergency": True,
                          "alert": alert})
    assert r.status_code == 422 and "alert.area_desc" in field_errors(r)


def test_alert_details_on_an_ordinary_announcement_are_refused(client, city):
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Pool opens", "body": "Saturday.", "alert": make_alert()})
    assert r.status_code == 422 and "only for an emergency" in r.json()["detail"]
    a = create_draft(client, city.parks_staff, emergency=True, alert=make_alert())
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth, json={"emergency": False})
    assert r.status_code == 422 and "alert: null" in r.json()["detail"]
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                     json={"emergency": False, "alert": None})
    assert r.status_code == 200 and r.json()["alert"] is None


def test_an_alert_must_end_after_it_is_published(client, city):
    r = client.post("/api/v1/announcements", headers=city.parks_staff.auth,
                    json={"department": "parks", "title": "Boil water", "body": "Boil it.", "emergency": True,
                          "publish_at": later(hours=8), "alert": make_alert(expires=later(hours=6))})
    assert r.status_code == 422 and field_errors(r) == {"alert.expires": "must be after publish_at"}
    a = create_draft(client, city.parks_staff, emergency=True, alert=make_alert(expires=later(hours=6)))
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                     json={"publish_at": later(hours=7)})
    assert r.status_code == 422 and "alert.expires" in field_errors(r)


def test_changing_the_alert_changes_what_the_approver_signs(client, city):
    a = create_submitted(client, city, emergency=True, alert=make_alert())
    r = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                     json={"alert": make_alert(severity="Extreme")})
    assert r.status_code == 200 and r.json()["fingerprint"] != a["fingerprint"]
    stale = client.post(f"/api/v1/announcements/{a['id']}/approve", headers=city.approver.auth,
                        json={"fingerprint": a["fingerprint"]})
    assert stale.status_code == 409


def test_the_staff_cap_document_validates_with_one_info_per_language_and_offsets(client, city, settings):
    a = create_draft(client, city.parks_staff, emergency=True, alert=make_alert(),
                     translations={"es": {"title": "Hierva el agua", "body": "Hierva el agua un minuto."}})
    r = client.get(f"/api/v1/announcements/{a['id']}/cap.xml", headers=city.parks_staff.auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/cap+xml"
    cap.validate(r.content)
    assert text_of(r.content, "language") == ["en", "es"]
    assert text_of(r.content, "headline") == ["Pool opens Saturday", "Hierva el agua"]
    assert text_of(r.content, "msgType") == ["Alert"] and text_of(r.content, "sender") == ["127.0.0.1"]
    for moment in text_of(r.content, "sent") + text_of(r.content, "expires"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[45]:00", moment), moment
    assert text_of(r.content, "polygon") == ["39.78,-89.65 39.79,-89.64 39.77,-89.63 39.78,-89.65"] * 2


def test_another_departments_cap_document_answers_as_a_missing_one(client, city):
    a = create_draft(client, city.parks_staff, emergency=True, alert=make_alert())
    theirs = client.get(f"/api/v1/announcements/{a['id']}/cap.xml", headers=city.police_staff.auth)
    missing = client.get(f"/api/v1/announcements/{a['id'] + 1000}/cap.xml", headers=city.police_staff.auth)
    assert theirs.status_code == missing.status_code == 404


def test_an_announcement_without_alert_details_has_no_cap_document_and_says_how_to_add_them(client, city):
    a = create_draft(client, city.parks_staff, emergency=True)
    r = client.get(f"/api/v1/announcements/{a['id']}/cap.xml", headers=city.parks_staff.auth)
    assert r.status_code == 409 and '"alert"' in r.json()["detail"]


def test_the_public_document_appears_only_once_published_and_is_the_same_on_every_request(client, city, sessions):
    approved = create_approved(client, city, emergency=True, alert=make_alert())
    assert client.get(f"/alerts/{approved['id']}.xml").status_code == 404
    a = create_published_alert(client, city, sessions)
    first, second = client.get(f"/alerts/{a['id']}.xml"), client.get(f"/alerts/{a['id']}.xml")
    assert first.status_code == 200 and first.content == second.content
    cap.validate(first.content)
    assert text_of(first.content, "identifier") == [f"127.0.0.1-announcement-{a['id']}-alert"]
    assert text_of(first.content, "status") == ["Actual"]
    assert client.get(f"/alerts/{a['id'] + 1000}.xml").status_code == 404
    client.post(f"/api/v1/announcements/{a['id']}/retract", headers=city.approver.auth)
    assert client.get(f"/alerts/{a['id']}.xml").status_code == 404


def test_the_sender_comes_from_the_setting(client, city, settings):
    settings.cap_sender = "alerts@city.example"
    a = create_draft(client, city.parks_staff, emergency=True, alert=make_alert())
    r = client.get(f"/api/v1/announcements/{a['id']}/cap.xml", headers=city.parks_staff.auth)
    assert text_of(r.content, "sender") == ["alerts@city.example"]
    assert text_of(r.content, "identifier") == [f"alerts@city.example-announcement-{a['id']}-alert"]


def test_status_is_exercise_for_a_drill_test_on_sandbox_channels_and_actual_otherwise(client, city):
    sandbox = create_channel(client, city.admin, "mastodon", base="http://127.0.0.1:8025", name="Sandbox toot")
    lookalike = create_channel(client, city.admin, "mastodon", base="https://gateway.city.example",
                               name="Gateway toot")
    feed = city.parks_channels[0]

    def status(channels: list[int], **alert) -> str:
        a = create_draft(client, city.parks_staff, emergency=True, channels=channels, alert=make_alert(**alert))
        r = client.get(f"/api/v1/announcements/{a['id']}/cap.xml", headers=city.parks_staff.auth)
        cap.validate(r.content)
        return text_of(r.content, "status")[0]

    assert status([sandbox, feed], exercise=True) == "Exercise"
    assert status([city.parks_channels[1]], exercise=True) == "Exercise"
    assert status([sandbox]) == "Test"
    assert status([sandbox, feed]) == "Test"  # the city's own page is neither
    assert status([sandbox, city.parks_channels[1]]) == "Actual"  # a partner's webhook is real
    assert status([lookalike]) == "Actual"  # the sandbox's path, but not on this machine
    assert status([feed]) == "Actual"
    assert status([]) == "Actual"


def throwaway_certificate() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alerts.city.example")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def test_with_a_key_and_certificate_the_public_document_is_signed_and_verifies(client, city, sessions, settings,
                                                                                 tmp_path):
    from signxml import XMLVerifier

    key_pem, cert_pem = throwaway_certificate()
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    settings.cap_signing_key, settings.cap_signing_cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    a = create_published_alert(client, city, sessions)
    r = client.get(f"/alerts/{a['id']}.xml")
    assert r.status_code == 200
    cap.validate(r.content)
    verified = XMLVerifier().verify(r.content, x509_cert=cert_pem.decode()).signed_xml
    assert verified.findtext(f"{{{cap.NS}}}info/{{{cap.NS}}}event") == "Water main break"


def test_unreadable_signing_files_give_a_plain_500_and_no_document(client, city, sessions, settings, tmp_path):
    settings.cap_signing_key, settings.cap_signing_cert = tmp_path / "gone.pem", tmp_path / "gone.pem"
    a = create_published_alert(client, city, sessions)
    r = client.get(f"/alerts/{a['id']}.xml")
    assert r.status_code == 500 and "CIVICPOST_CAP_SIGNING_KEY" in r.text and "<alert" not in r.text


def test_the_alerts_feed_lists_current_alerts_with_links_to_their_documents_and_pages(client, city, sessions,
                                                                                       settings):
    current = create_published_alert(client, city, sessions, title="Boil water notice")
    ended = create_published_alert(client, city, sessions, title="Road closed")
    end_alert(sessions, ended["id"], dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    create_approved(client, city, title="Not yet out", emergency=True, alert=make_alert())
    r = client.get("/alerts.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(r.content)
    assert root.tag == f"{ATOM}feed" and root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}updated")
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Water main break: Boil water notice"]
    links = {link.get("rel"): link.get("href") for link in entries[0].findall(f"{ATOM}link")}
    assert links == {"alternate": f"{settings.base_url}/alerts/{current['id']}.xml",
                     "related": f"{settings.base_url}/announcements/{current['id']}"}
    for entry in entries:
        assert entry.findtext(f"{ATOM}id") and entry.findtext(f"{ATOM}updated") and entry.findtext(f"{ATOM}summary")

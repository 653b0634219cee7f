"""SAML 2.0 sign-in against a real identity provider built with pysaml2 in this test (its key and certificate
made here), through the app: civicpost's redirect, the provider's signed answer POSTed to the ACS."""

import base64
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicpost.config import ConfigError, Settings
from civicpost.db import transaction
from civicpost.models import Role, User
from tests.conftest import TEST_SECRET
from tests.factories import create_department, create_person

saml2 = pytest.importorskip("saml2")
if shutil.which("xmlsec1") is None:  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip("the xmlsec1 program is not installed", allow_module_level=True)

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import entity_descriptor  # noqa: E402
from saml2.saml import NAME_FORMAT_BASIC, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402

BASE_URL = "http://127.0.0.1:8000"
SP_ENTITY = f"{BASE_URL}/staff/login/saml/metadata"
ACS = f"{BASE_URL}/staff/login/saml/acs"
IDP_ENTITY = "http://127.0.0.1:9/idp/metadata"
IDP_SSO = "http://127.0.0.1:9/idp/sso"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
HTML = {"accept": "text/html"}


def make_key_and_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def idp_config(key_file: Path, cert_file: Path, sp_metadata: Path | None, *, lifetime_minutes: int = 15) -> IdPConfig:
    config = IdPConfig()
    config.load({
        "entityid": IDP_ENTITY,
        "xmlsec_binary": shutil.which("xmlsec1"),
        "key_file": str(key_file), "cert_file": str(cert_file),
        "metadata": {"local": [str(sp_metadata)]} if sp_metadata else {},
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(IDP_SSO, BINDING_HTTP_REDIRECT)]},
            "name_id_format": [PERSISTENT],
            "policy": {"default": {"lifetime": {"minutes": lifetime_minutes}, "attribute_restrictions": None,
                                   "name_form": NAME_FORMAT_BASIC}},
        }},
    })
    return config


@dataclass
class IdentityProvider:
    """The city's identity provider: reads civicpost's AuthnRequest, answers with a signed assertion."""

    server: Server
    expired_server: Server

    def request_id(self, location: str) -> str:
        assert location.startswith(IDP_SSO + "?"), location
        query = parse_qs(urlsplit(location).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        assert request.message.assertion_consumer_service_url == ACS
        return request.message.id

    def answer(self, request_id: str | None, *, subject: str, email: str, roles: list[str], audience: str = SP_ENTITY,
               sign: bool = True, expired: bool = False) -> str:
        server = self.expired_server if expired else self.server
        response = server.create_authn_response(
            identity={"mail": [email], "displayName": [email.split("@")[0].title()], "roles": roles},
            in_response_to=request_id, destination=ACS, sp_entity_id=audience,
            name_id=NameID(format=PERSISTENT, name_qualifier=IDP_ENTITY, text=subject),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=sign, sign_response=False,
        )
        return base64.b64encode(str(response).encode()).decode()


@pytest.fixture(scope="module")
def saml_files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("saml")
    key_file, cert_file = make_key_and_certificate(directory, "idp")
    idp_metadata = directory / "idp.xml"
    idp_metadata.write_text(str(entity_descriptor(idp_config(key_file, cert_file, None))))
    return {"dir": directory, "key": key_file, "cert": cert_file, "idp_metadata": idp_metadata}


def saml_settings(database_url: str, idp_metadata: Path | None, tmp_path: Path, **changes) -> Settings:
    return Settings(env="test", database_url=database_url, secret_key=TEST_SECRET, base_url=BASE_URL,
                    media_dir=tmp_path / "media", saml_idp_metadata=idp_metadata,
                    oidc_role_map={"CityComms": "approver"}, **changes)


@pytest.fixture(scope="module")
def saml_app(saml_files, database_url, engine):
    from civicpost.web import create_app

    return create_app(saml_settings(database_url, saml_files["idp_metadata"], saml_files["dir"]), engine=engine)


@pytest.fixture(scope="module")
def idp(saml_app, saml_files) -> IdentityProvider:
    with TestClient(saml_app) as c:
        metadata = c.get("/staff/login/saml/metadata")
    assert metadata.status_code == 200
    sp_metadata = saml_files["dir"] / "sp.xml"
    sp_metadata.write_text(metadata.text)
    key, cert = saml_files["key"], saml_files["cert"]
    return IdentityProvider(Server(config=idp_config(key, cert, sp_metadata)),
                            Server(config=idp_config(key, cert, sp_metadata, lifetime_minutes=-10)))


@pytest.fixture
def browser(saml_app):
    with TestClient(saml_app, base_url=BASE_URL) as c:
        yield c


def start(browser: TestClient, idp: IdentityProvider, next_url: str = "/staff/") -> str:
    started = browser.get("/staff/login/saml", params={"next": next_url}, follow_redirects=False)
    assert started.status_code == 303
    return idp.request_id(started.headers["location"])


def post_answer(browser: TestClient, answer: str):
    return browser.post("/staff/login/saml/acs", data={"SAMLResponse": answer}, headers=HTML, follow_redirects=False)


def refusal(page) -> str:
    found = re.search(r'<p role="alert">(.*?)</p>', page.text, re.S)
    assert found, page.text
    return found.group(1)


def test_the_sign_in_page_offers_saml_and_the_metadata_names_civicpost_and_its_acs(browser):
    page = browser.get("/staff/login?next=/staff/approvals")
    assert "Sign in with SAML single sign-on" in page.text
    assert 'href="/staff/login/saml?next=/staff/approvals"' in page.text.replace("%2F", "/")
    metadata = browser.get("/staff/login/saml/metadata")
    assert metadata.headers["content-type"].startswith("application/samlmetadata+xml")
    assert f'entityID="{SP_ENTITY}"' in metadata.text
    assert f'Location="{ACS}"' in metadata.text and BINDING_HTTP_POST in metadata.text


def test_first_sign_in_creates_the_person_with_role_and_departments_and_lands_where_they_were_going(
        browser, idp, sessions):
    create_department(sessions, "parks")
    request_id = start(browser, idp, next_url="/staff/announcements")
    signed = post_answer(browser, idp.answer(request_id, subject="u-1001", email="Ana@City.example",
                                             roles=["CityComms", "department:parks"]))
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/staff/announcements"
    assert browser.get("/staff/", headers=HTML, follow_redirects=False).status_code == 200
    with transaction(sessions) as session:
        user = session.scalar(select(User).where(User.email == "ana@city.example"))
        assert user is not None
        assert (user.role, user.department_slugs, user.sso_provider) == (Role.approver, ["parks"], "saml")
        assert user.sso_subject == f"{IDP_ENTITY}!u-1001"
        assert user.last_sign_in_method == "saml"


def test_a_person_given_no_civicpost_role_is_refused_and_told_whom_to_ask(browser, idp, sessions):
    answer = idp.answer(start(browser, idp), subject="u-1002", email="bo@city.example", roles=["Printers"])
    page = post_answer(browser, answer)
    assert page.status_code == 403
    assert "Ask your IT department" in refusal(page)
    assert "civicpost_session" not in page.cookies
    with transaction(sessions) as session:
        assert session.scalar(select(User).where(User.email == "bo@city.example")) is None


def test_a_deactivated_person_is_refused_whatever_the_provider_says(browser, idp, sessions, client):
    create_department(sessions, "parks")
    admin = create_person(sessions, Role.admin)
    person = create_person(sessions, Role.staff, ("parks",), email="cy@city.example")
    assert client.patch(f"/api/v1/users/{person.id}", json={"active": False},
                        headers={"authorization": f"Bearer {admin.token}"}).status_code == 200
    page = post_answer(browser, idp.answer(start(browser, idp), subject="u-1003", email="cy@city.example",
                                           roles=["staff", "department:parks"]))
    assert page.status_code == 403
    assert "switched off" in refusal(page)


def test_an_existing_password_account_with_the_same_email_is_linked_to_the_saml_subject(browser, idp, sessions):
    create_department(sessions, "parks")
    person = create_person(sessions, Role.staff, ("parks",), email="di@city.example")
    signed = post_answer(browser, idp.answer(start(browser, idp), subject="u-1004", email="di@city.example",
                                             roles=["approver"]))
    assert signed.status_code == 303
    with transaction(sessions) as session:
        user = session.get(User, person.id)
        assert (user.sso_subject, user.role) == (f"{IDP_ENTITY}!u-1004", Role.approver)


def test_a_tampered_assertion_fails_its_signature_and_signs_nobody_in(browser, idp, sessions):
    answer = base64.b64decode(idp.answer(start(browser, idp), subject="u-1005", email="ed@city.example",
                                         roles=["staff"])).decode()
    assert ">staff<" in answer
    tampered = base64.b64encode(answer.replace(">staff<", ">admin<").encode()).decode()
    page = post_answer(browser, tampered)
    assert page.status_code == 400
    assert "could not verify" in refusal(page)
    assert browser.get("/staff/", headers=HTML, follow_redirects=False).status_code == 303
    with transaction(sessions) as session:
        assert session.scalar(select(User).where(User.email == "ed@city.example")) is None


def test_an_unsigned_assertion_is_refused(browser, idp):
    page = post_answer(browser, idp.answer(start(browser, idp), subject="u-1006", email="fa@city.example",
                                           roles=["admin"], sign=False))
    assert page.status_code == 400
    assert "could not verify" in refusal(page)


def test_an_assertion_for_another_service_is_refused(browser, idp):
    page = post_answer(browser, idp.answer(start(browser, idp), subject="u-1007", email="gu@city.example",
                                           roles=["admin"], audience="https://other.example/sp"))
    assert page.status_code == 400
    assert "meant for another service" in refusal(page)


def test_an_expired_assertion_is_refused(browser, idp):
    page = post_answer(browser, idp.answer(start(browser, idp), subject="u-1008", email="ha@city.example",
                                           roles=["admin"], expired=True))
    assert page.status_code == 400
    assert "expired" in refusal(page)


def test_a_replayed_answer_is_refused_even_after_the_first_signed_in(browser, idp, saml_app):
    answer = idp.answer(start(browser, idp), subject="u-1009", email="io@city.example", roles=["admin"])
    assert post_answer(browser, answer).status_code == 303
    with TestClient(saml_app, base_url=BASE_URL) as attacker:
        page = post_answer(attacker, answer)
        assert page.status_code == 400
        assert "already used" in refusal(page)
        assert attacker.get("/staff/", headers=HTML, follow_redirects=False).status_code == 303


def test_an_answer_civicpost_did_not_ask_for_is_refused(browser, idp):
    unsolicited = post_answer(browser, idp.answer(None, subject="u-1010", email="jo@city.example", roles=["admin"]))
    assert unsolicited.status_code == 400
    assert "did not ask for this sign-in" in refusal(unsolicited)
    invented = post_answer(browser, idp.answer("_made_up_id", subject="u-1010", email="jo@city.example",
                                               roles=["admin"]))
    assert invented.status_code == 400
    assert "did not ask for this sign-in" in refusal(invented)


@pytest.mark.parametrize("body", ["", "not base64 at all!", base64.b64encode(b"<html>").decode(), "A" * 400_000])
def test_empty_malformed_and_huge_answers_get_a_page_that_says_to_start_again(browser, body):
    page = post_answer(browser, body)
    assert page.status_code in (400, 413, 422), page.status_code
    assert "Traceback" not in page.text and "saml2" not in page.text
    if page.status_code == 400:
        assert "Start again" in refusal(page)


def test_without_saml_settings_there_is_no_saml_button_and_no_saml_routes(client):
    assert "SAML" not in client.get("/staff/login").text
    assert client.get("/staff/login/saml", headers=HTML, follow_redirects=False).status_code == 404


def test_start_up_fails_with_the_install_hint_when_saml_is_set_but_pysaml2_is_missing(
        monkeypatch, saml_files, database_url, engine, tmp_path):
    from civicpost.identity import saml
    from civicpost.web import create_app

    monkeypatch.setattr(saml, "installed", lambda: False)
    with pytest.raises(ConfigError, match=r"pip install 'civicpost\[saml\]'.*xmlsec1"):
        create_app(saml_settings(database_url, saml_files["idp_metadata"], tmp_path), engine=engine)


def test_start_up_fails_with_the_hint_when_xmlsec1_is_missing(monkeypatch, saml_files, database_url, engine, tmp_path):
    from civicpost.identity import saml
    from civicpost.web import create_app

    monkeypatch.setattr(saml.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="xmlsec1 program is missing"):
        create_app(saml_settings(database_url, saml_files["idp_metadata"], tmp_path), engine=engine)

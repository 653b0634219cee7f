"""The signed records export: a zipped BagIt bag of every announcement in a date range
(versions, approvals, deliveries with remote ids, comments, audit events, media with alt
text, replies), signed with Ed25519, and `civicpost export verify` saying exactly what is
wrong with a bag that was changed."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import bagit
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from civicpost.cli import app as cli_app
from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.exports import jobs, signing
from civicpost.models import AuditEvent, DeliveryStatus, State
from tests.conftest import TEST_SECRET
from tests.factories import create_approved, create_draft, create_media, create_written, make_png, set_outcome

BIN = Path(sys.executable).parent
TODAY = utcnow().date()


@pytest.fixture
def small_city(client, city, sessions):
    """Published (with a picture), retracted, edited (two versions) and a police announcement,
    all made today; and one written long before the range."""
    image = create_media(client, city.parks_staff, make_png((200, 40, 40))).json()["id"]
    published = create_approved(client, city, title="Pool opens", body="Saturday at 9.",
                                media=[{"id": image, "alt_text": "The pool at dawn"}])["id"]
    at = utcnow() - timedelta(hours=2)
    set_outcome(sessions, published, State.published, DeliveryStatus.published, remote_id="post-77",
                remote_url="https://social.example/@city/77", published_at=at)
    client.post(f"/api/v1/announcements/{published}/comments", headers=city.approver.auth,
                json={"body": "Looks right."})
    retracted = create_approved(client, city, title="Road closed", body="Main St closed.")["id"]
    set_outcome(sessions, retracted, State.retracted, DeliveryStatus.retracted, remote_id="post-78",
                published_at=at, retracted_at=at + timedelta(minutes=30))
    edited = create_draft(client, city.parks_staff, title="Library hours", body="Open late.")["id"]
    client.patch(f"/api/v1/announcements/{edited}", headers=city.parks_staff.auth,
                 json={"body": "Open late on Thursdays."}).raise_for_status()
    police = create_draft(client, city.police_staff, department="police", title="Bike auction",
                          body="Saturday.", channels=city.police_channels)["id"]
    old = create_written(sessions, city, ["Old news"], created_at=utcnow() - timedelta(days=400))[0]
    return {"published": published, "retracted": retracted, "edited": edited, "police": police, "old": old}


def export_now(sessions, settings: Settings, out: Path, *, department: str | None = None):
    return jobs.run_by_command(sessions, settings, date_from=TODAY - timedelta(days=1),
                               date_to=TODAY + timedelta(days=1), department=department, out=out)


def public_key_file(settings: Settings, tmp_path: Path) -> Path:
    path = tmp_path / "city.pub"
    path.write_bytes(signing.public_pem(signing.private_key(settings)))
    return path


def verify(bag: Path, key: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["export", "verify", str(bag), "--public-key", str(key)])
    return result.exit_code, result.output


def rewritten(source: Path, target: Path, *, change: dict[str, bytes | None] | None = None,
              add: dict[str, bytes] | None = None) -> Path:
    """A copy of the zip with some members replaced (None: left out) or added."""
    change = change or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change[name] if name in change else old.read(name)
            if data is not None:
                new.writestr(name, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def test_a_real_export_holds_every_record_in_the_range_and_verifies(sessions, settings, small_city, tmp_path):
    written = export_now(sessions, settings, tmp_path / "records.zip")
    assert written.announcements == 4
    with zipfile.ZipFile(written.path) as bag:
        names = set(bag.namelist())
        record = json.loads(bag.read(f"data/announcements/{small_city['published']}/record.json"))
        html = bag.read(f"data/announcements/{small_city['published']}/record.html").decode()
        retracted = json.loads(bag.read(f"data/announcements/{small_city['retracted']}/record.json"))
        edited = json.loads(bag.read(f"data/announcements/{small_city['edited']}/record.json"))
        index = list(csv.DictReader(io.StringIO(bag.read("data/index.csv").decode())))
        info = bag.read("bag-info.txt").decode()
    assert {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
            "tagmanifest-sha256.txt.sig", "data/index.csv"} <= names
    assert f"data/announcements/{small_city['old']}/record.json" not in names
    assert [int(row["id"]) for row in index] == sorted(v for k, v in small_city.items() if k != "old")

    assert record["approvers"][0]["actor"] == "comms@city.example"
    assert record["approvers"][0]["fingerprint"] == record["versions"][-1]["fingerprint"]
    assert record["submitted_by"][0]["actor"] == "pat@city.example"
    assert record["deliveries"][0]["remote_id"] == "post-77"
    assert record["deliveries"][0]["remote_url"] == "https://social.example/@city/77"
    assert record["deliveries"][0]["published_at"] and "remote_deleted_at" in record["deliveries"][0]
    assert record["comments"][0]["body"] == "Looks right." and record["replies"] == []
    assert {"submit", "approve"} <= {e["action"] for e in record["audit_events"]}
    media = record["media"][0]
    assert media["alt_text"] == "The pool at dawn" and media["file"].startswith("media/")
    assert f"data/announcements/{small_city['published']}/{media['file']}" in names
    assert 'alt="The pool at dawn"' in html and "post-77" in html and "http-equiv" not in html
    assert "<script" not in html and 'src="http' not in html and "stylesheet" not in html
    assert retracted["state"] == "retracted" and retracted["deliveries"][0]["retracted_at"]
    assert [v["content"]["body"] for v in edited["versions"]] == ["Open late.", "Open late on Thursdays."]
    assert "Export-Announcements: 4" in info and "Payload-Oxum:" in info

    assert verify(written.path, public_key_file(settings, tmp_path)) == (0, f"{written.path}: valid; "
                  f"{len(names) - 5} files match the manifest and the signature matches the key\n")
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "export").order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["export.requested", "export.finished"]
    assert events[0].detail["from"] == str(TODAY - timedelta(days=1)) and events[0].actor.startswith("command line")


def test_standard_bagit_tools_accept_the_unzipped_bag(sessions, settings, small_city, tmp_path):
    written = export_now(sessions, settings, tmp_path / "records.zip", department="parks")
    assert written.announcements == 3
    with zipfile.ZipFile(written.path) as bag:
        bag.extractall(tmp_path / "unzipped")
    unzipped = bagit.Bag(str(tmp_path / "unzipped"))
    unzipped.validate()
    assert unzipped.info["Export-Department"] == "parks"
    unzip = shutil.which("unzip")  # Info-ZIP, as an archivist without Python would check it
    assert unzip, "Info-ZIP unzip is needed for this test: apt-get install unzip"
    checked = subprocess.run([unzip, "-t", str(written.path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "No errors detected" in checked.stdout, checked.stdout + checked.stderr


def test_each_kind_of_tampering_is_named_exactly(sessions, settings, small_city, tmp_path):
    written = export_now(sessions, settings, tmp_path / "records.zip")
    key = public_key_file(settings, tmp_path)
    record = f"data/announcements/{small_city['published']}/record.json"
    with zipfile.ZipFile(written.path) as bag:
        original = bag.read(record)
        html = f"data/announcements/{small_city['edited']}/record.html"
    one_byte = bytes([original[0] ^ 1]) + original[1:]

    code, said = verify(rewritten(written.path, tmp_path / "a.zip", change={record: one_byte}), key)
    assert code == 1 and said.splitlines()[0] == f"{record}: SHA-256 differs from the manifest"
    code, said = verify(rewritten(written.path, tmp_path / "b.zip", change={html: None}), key)
    assert code == 1 and said.splitlines()[0] == f"{html}: listed in the manifest but missing from the bag"
    code, said = verify(rewritten(written.path, tmp_path / "c.zip", add={"data/extra.txt": b"x"}), key)
    assert code == 1 and said.splitlines()[0] == "data/extra.txt: not in the manifest (a file was added)"
    other = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(written.path) as bag:
        forged = other.sign(bag.read("tagmanifest-sha256.txt"))
    code, said = verify(rewritten(written.path, tmp_path / "d.zip", change={"tagmanifest-sha256.txt.sig": forged}),
                        key)
    assert (code, said.splitlines()[0]) == (1, "signature does not match the public key")
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = rewritten(written.path, tmp_path / "f.zip", add={record: original})
    code, said = verify(twice, key)
    assert code == 1 and said.splitlines()[0] == f"{record}: in the zip more than once"
    code, said = verify(rewritten(written.path, tmp_path / "e.zip",
                                  change={"manifest-sha256.txt": b"0" * 64 + b"  " + record.encode() + b"\n"}), key)
    assert code == 1 and "manifest-sha256.txt: SHA-256 differs from the tag manifest" in said.splitlines()


def test_the_key_comes_from_the_setting_or_is_derived_stably_from_the_secret_key(settings, tmp_path):
    derived = signing.public_pem(signing.private_key(settings))
    assert derived == signing.public_pem(signing.private_key(settings.model_copy()))
    other = settings.model_copy(update={"secret_key": SecretStr(TEST_SECRET + "-other")})
    assert signing.public_pem(signing.private_key(other)) != derived
    own = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    pem = tmp_path / "export-key.pem"
    pem.write_bytes(own.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    chosen = settings.model_copy(update={"export_signing_key": pem})
    assert signing.public_pem(signing.private_key(chosen)) == signing.public_pem(own)


def test_the_public_key_is_served_as_pem(client, settings):
    r = client.get("/.well-known/civicpost-export.pub")
    assert r.status_code == 200 and r.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert r.content == signing.public_pem(signing.private_key(settings))


@pytest.mark.slow
def test_the_command_writes_an_export_and_verify_exits_0_or_1(small_city, database_url, settings, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    env.update(CIVICPOST_DATABASE_URL=database_url, CIVICPOST_SECRET_KEY=TEST_SECRET,
               CIVICPOST_MEDIA_DIR=str(settings.media_dir))

    def civicpost(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "civicpost"), *args], capture_output=True, text=True, env=env, timeout=120)

    out = tmp_path / "records.zip"
    bad = civicpost("export", "--from", "2026-13-01", "--to", str(TODAY), "--out", str(out))
    assert bad.returncode == 2 and "--from '2026-13-01' is not a date; write it as YYYY-MM-DD" in bad.stderr
    backwards = civicpost("export", "--from", str(TODAY), "--to", str(TODAY - timedelta(days=3)), "--out", str(out))
    assert backwards.returncode == 2 and "`to` must be on or after `from`" in backwards.stderr
    done = civicpost("export", "--from", str(TODAY - timedelta(days=1)), "--to", str(TODAY), "--department", "parks",
                     "--out", str(out))
    assert done.returncode == 0 and "3 announcements" in done.stdout, done.stderr
    again = civicpost("export", "--from", str(TODAY), "--to", str(TODAY), "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert civicpost("export", "verify", str(out)).returncode == 0
    with zipfile.ZipFile(out) as bag:
        record = next(n for n in bag.namelist() if n.endswith("record.json"))
    broken = rewritten(out, tmp_path / "broken.zip", change={record: b"{}"})
    checked = civicpost("export", "verify", str(broken))
    assert checked.returncode == 1 and f"{record}: SHA-256 differs from the manifest" in checked.stdout


def test_residents_replies_and_what_was_hidden_are_in_the_record(sessions, settings, small_city, tmp_path):
    from civicpost.db import transaction, utcnow
    from civicpost.models import Delivery, Reply, User

    with transaction(sessions) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.announcement_id == small_city["published"])).first()
        approver = session.scalars(select(User).where(User.email == "comms@city.example")).one()
        session.add_all([
            Reply(delivery_id=delivery.id, announcement_id=delivery.announcement_id, channel_id=delivery.channel_id,
                  platform="mastodon", remote_id="r-1", author_handle="@sam@social.example", author_name="Sam",
                  created_at=utcnow(), text="Is the pool heated?", url="https://social.example/@sam/1"),
            Reply(delivery_id=delivery.id, announcement_id=delivery.announcement_id, channel_id=delivery.channel_id,
                  platform="mastodon", remote_id="r-2", author_handle="@spam@social.example", author_name="Spam",
                  created_at=utcnow(), text="Buy followers", hidden_at=utcnow(), hidden_by=approver.id,
                  hide_reason="Spam")])
    written = export_now(sessions, settings, tmp_path / "records.zip")
    with zipfile.ZipFile(written.path) as bag:
        record = json.loads(bag.read(f"data/announcements/{small_city['published']}/record.json"))
    replies = {r["remote_id"]: r for r in record["replies"]}
    assert replies["r-1"]["text"] == "Is the pool heated?" and replies["r-1"]["author_handle"] == "@sam@social.example"
    assert replies["r-2"]["hidden_by"] == "comms@city.example" and replies["r-2"]["hide_reason"] == "Spam"

"""POST /api/v1/media: images only, decided by decoding; GPS gone; then used in a post."""

import io

from PIL import Image

from tests.factories import create_channel


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (30, 120, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (42.0, 16.0, 0.0), 3: "W", 4: (71.0, 48.0, 0.0)}  # GPSInfo: Worcester, MA
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_an_uploaded_photo_loses_its_gps_and_is_usable_with_alt_text(client, city, settings, draft):
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get(0x8825)
    r = client.post("/api/v1/media", headers=city.parks_staff.auth, files={"file": ("IMG_0001.jpg", raw, "image/jpeg")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mime_type"] == "image/jpeg" and (body["width"], body["height"]) == (64, 48)
    stored = (settings.media_dir / body["id"]).read_bytes()
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert 0x8825 not in exif and 0x010F not in exif
    # The same picture again is the same stored file.
    again = client.post("/api/v1/media", headers=city.parks_staff.auth, files={"file": ("copy.jpg", raw, "image/jpeg")})
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    a = draft(media=[{"id": body["id"], "alt_text": "The Elm Street pool, empty and sunny"}])
    assert a["media"] == [{"id": body["id"], "alt_text": "The Elm Street pool, empty and sunny"}]


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(client, city):
    r = client.post("/api/v1/media", headers=city.parks_staff.auth,
                    files={"file": ("photo.jpg", b"%PDF-1.7 not a picture", "image/jpeg")})
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"]


def test_an_upload_over_the_limit_is_refused_with_413(client, city, settings):
    big = b"\xff\xd8" + b"0" * (settings.max_upload_bytes + 10)
    r = client.post("/api/v1/media", headers=city.parks_staff.auth, files={"file": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413


def test_an_image_without_alt_text_cannot_be_submitted_for_approval(client, city, draft):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "PNG")
    media_id = client.post("/api/v1/media", headers=city.parks_staff.auth, files={"file": ("a.png", buffer.getvalue(), "image/png")}).json()["id"]
    x = create_channel(client, city.admin, "x")
    a = draft(media=[{"id": media_id, "alt_text": ""}], channels=[x])
    r = client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth)
    assert r.status_code == 422
    assert any(e["code"] == "missing_alt_text" for e in r.json()["errors"])

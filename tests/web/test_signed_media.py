"""Images fetched by a platform itself (Instagram, Threads) come from a signed address that soon expires."""

from urllib.parse import parse_qs, urlsplit

from civicpost import media_urls
from tests.factories import create_media


def test_a_signed_image_address_works_without_a_session_until_it_expires(client, city, app, settings):
    image = create_media(client, city.parks_staff).json()["id"]
    assert client.get(f"/media/{image}").status_code == 404  # not published: not public
    url = media_urls.signed_url(settings.base_url, app.state.box_key, image)
    parts = urlsplit(url)
    got = client.get(parts.path, params=parse_qs(parts.query))
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    expired = media_urls.signed_url(settings.base_url, app.state.box_key, image, now=0)
    parts = urlsplit(expired)
    assert client.get(parts.path, params=parse_qs(parts.query)).status_code == 404
    forged = url.replace("sig=", "sig=0")
    parts = urlsplit(forged)
    assert client.get(parts.path, params=parse_qs(parts.query)).status_code == 404
    other = media_urls.signed_url(settings.base_url, "another key", image)
    parts = urlsplit(other)
    assert client.get(parts.path, params=parse_qs(parts.query)).status_code == 404

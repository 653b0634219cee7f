"""Every version of an announcement is kept (the record): the text, translations,
overrides, media and each channel's rendition after every change, with the
fingerprint an approval signs and who made the change; nothing is overwritten."""

from civicpost.models import AuditEvent
from tests.factories import create_channel, create_media
from sqlalchemy import select


def versions(client, city, announcement_id: int, person=None) -> list[dict]:
    r = client.get(f"/api/v1/announcements/{announcement_id}/versions", headers=(person or city.parks_staff).auth)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_change_adds_a_version_with_its_author_fingerprint_and_renditions(client, city, sessions):
    x = create_channel(client, city.admin, "x")
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens Saturday", "body": "The pool opens at 9 a.m.",
        "channels": [x, city.parks_channels[0]]}).json()
    client.post(f"/api/v1/announcements/{a['id']}/submit", headers=city.parks_staff.auth).raise_for_status()
    edited = client.patch(f"/api/v1/announcements/{a['id']}", headers=city.approver.auth, json={
        "body": "The pool opens at 10 a.m.", "overrides": {str(x): "Pool opens 10 a.m. Saturday #parks"},
        "translations": {"es": {"title": "La piscina abre el sábado", "body": "Abre a las 10."}}})
    assert edited.status_code == 200, edited.text

    first, second = versions(client, city, a["id"])
    assert (first["number"], first["reason"], first["author"]) == (1, "create", city.parks_staff.email)
    assert (second["number"], second["reason"], second["author"]) == (2, "edit", city.approver.email)
    assert first["content"]["body"] == "The pool opens at 9 a.m." and second["content"]["body"] == "The pool opens at 10 a.m."
    assert first["fingerprint"] == a["fingerprint"] and second["fingerprint"] == edited.json()["fingerprint"]
    assert second["content"]["translations"] == [{"language": "es", "title": "La piscina abre el sábado",
                                                  "body": "Abre a las 10."}]
    override = {c["id"]: c["override_text"] for c in second["content"]["channels"]}
    assert override[x] == "Pool opens 10 a.m. Saturday #parks" and override[city.parks_channels[0]] is None
    texts = {r["channel_id"]: r["text"] for r in second["content"]["renditions"]}
    assert texts[x] == "Pool opens 10 a.m. Saturday #parks"
    assert "The pool opens at 9 a.m." in {r["channel_id"]: r["text"] for r in first["content"]["renditions"]}[x]
    with sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "edit")).one()
        assert event.fingerprint == second["fingerprint"] and event.detail["version"] == 2


def test_media_and_its_alt_text_are_part_of_each_version(client, city):
    image = create_media(client, city.parks_staff).json()["id"]
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens", "body": "Saturday.", "channels": [city.parks_channels[0]],
        "media": [{"id": image, "alt_text": "The pool at dawn"}]}).json()
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                 json={"media": [{"id": image, "alt_text": "The empty pool at dawn, lanes roped"}]}).raise_for_status()
    alts = [v["content"]["media"][0]["alt_text"] for v in versions(client, city, a["id"])]
    assert alts == ["The pool at dawn", "The empty pool at dawn, lanes roped"]


def test_a_change_that_changes_nothing_adds_no_version_and_another_department_sees_none(client, city):
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens", "body": "Saturday.", "channels": [city.parks_channels[0]]}).json()
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                 json={"title": "Pool opens"}).raise_for_status()
    assert [v["number"] for v in versions(client, city, a["id"])] == [1]
    outsider = client.get(f"/api/v1/announcements/{a['id']}/versions", headers=city.police_staff.auth)
    missing = client.get("/api/v1/announcements/999999/versions", headers=city.police_staff.auth)
    assert outsider.status_code == missing.status_code == 404
    assert outsider.json()["detail"].replace(str(a["id"]), "N") == missing.json()["detail"].replace("999999", "N")


def test_the_staff_page_lists_every_version_newest_first_with_its_words(client, city, sign_in):
    a = client.post("/api/v1/announcements", headers=city.parks_staff.auth, json={
        "department": "parks", "title": "Pool opens", "body": "Saturday at 9.", "channels": [city.parks_channels[0]]}).json()
    client.patch(f"/api/v1/announcements/{a['id']}", headers=city.parks_staff.auth,
                 json={"body": "Saturday at 10."}).raise_for_status()
    page = sign_in(city.parks_staff).get(f"/staff/announcements/{a['id']}").text
    section = page[page.index('id="versions-heading"'):]
    assert section.index("Version 2 (current)") < section.index("Version 1:")
    assert "Saturday at 10." in section and "Saturday at 9." in section

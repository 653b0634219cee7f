"""The sandbox's LinkedIn answers as LinkedIn's REST API does: versions,
Rest.li 2.0, little text, images, the author finder, its errors; and the
adapter publishes, finds and deletes through it."""

import io
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from civicpost.platforms import CredentialsError, MaybePosted, MediaItem, Outgoing, RateLimited, build_adapter, spec
from civicpost.sandbox.linkedin import ORGANIZATION

HEADERS = {"Authorization": "Bearer member-token", "Linkedin-Version": "202607", "X-Restli-Protocol-Version": "2.0.0"}
DISTRIBUTION = {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []}


@pytest.fixture
def linkedin(sandbox):
    with httpx.Client(base_url=f"{sandbox.url}/linkedin/rest", headers=HEADERS, timeout=5) as client:
        yield client


def new_post(commentary: str, **extra) -> dict:
    return {"author": ORGANIZATION, "commentary": commentary, "visibility": "PUBLIC", "distribution": DISTRIBUTION,
            "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False, **extra}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "green").save(buffer, "PNG")
    return buffer.getvalue()


def uploaded_image(linkedin) -> str:
    value = linkedin.post("/images", params={"action": "initializeUpload"},
                          json={"initializeUploadRequest": {"owner": ORGANIZATION}}).json()["value"]
    assert httpx.put(value["uploadUrl"], content=png(), headers={"Authorization": "Bearer member-token"}).status_code == 201
    return value["image"]


def test_a_request_without_the_version_header_or_with_a_retired_version_is_refused_as_linkedin_does(sandbox, linkedin):
    missing = httpx.post(f"{sandbox.url}/linkedin/rest/posts", json=new_post("Hi"),
                         headers={k: v for k, v in HEADERS.items() if k != "Linkedin-Version"})
    retired = linkedin.post("/posts", json=new_post("Hi"), headers={"Linkedin-Version": "202301"})

    assert (missing.status_code, missing.json()["code"]) == (400, "VERSION_MISSING")
    assert (retired.status_code, retired.json()["code"]) == (426, "NONEXISTENT_VERSION")
    assert retired.json()["message"] == "Requested version 202301 is not active"
    assert sandbox.state.linkedin.posts == {}


def test_a_new_post_answers_201_with_an_empty_body_and_its_urn_in_x_restli_id(linkedin):
    created = linkedin.post("/posts", json=new_post("Road work on Elm St."))

    urn = created.headers["x-restli-id"]
    assert created.status_code == 201 and created.content == b"" and urn.startswith("urn:li:share:")
    read = linkedin.get(f"/posts/{quote(urn, safe='')}").json()
    assert (read["id"], read["author"], read["commentary"], read["lifecycleState"]) == (
        urn, ORGANIZATION, "Road work on Elm St.", "PUBLISHED")
    assert isinstance(read["createdAt"], int)


def test_an_unescaped_reserved_character_silently_cuts_the_post_there(sandbox, linkedin):
    created = linkedin.post("/posts", json=new_post("Pools open (weather permitting) on Saturday"))

    assert created.status_code == 201
    assert [p.text for p in sandbox.state.linkedin.timeline()] == ["Pools open "]


def test_commentary_comes_back_escaped_with_hashtags_written_as_templates(sandbox, linkedin):
    urn = linkedin.post("/posts", json=new_post("Pools \\(all\\) open #Summer \\@ 10")).headers["x-restli-id"]

    read = linkedin.get(f"/posts/{quote(urn, safe='')}").json()
    assert read["commentary"] == "Pools \\(all\\) open {hashtag|\\#|Summer} \\@ 10"
    assert sandbox.state.linkedin.timeline()[0].text == "Pools (all) open #Summer @ 10"


def test_an_image_is_initialized_for_the_page_uploaded_and_shown_with_its_alt_text(sandbox, linkedin):
    image = uploaded_image(linkedin)
    linkedin.post("/posts", json=new_post("New library", content={"media": {"id": image, "altText": "Brick steps"}}))

    assert linkedin.get(f"/images/{quote(image, safe='')}").json()["status"] == "AVAILABLE"
    assert sandbox.state.linkedin.timeline()[0].alts == ("Brick steps",)


def test_a_post_naming_an_image_that_was_never_uploaded_is_refused(linkedin):
    value = linkedin.post("/images", params={"action": "initializeUpload"},
                          json={"initializeUploadRequest": {"owner": ORGANIZATION}}).json()["value"]

    refused = linkedin.post("/posts", json=new_post("Hi", content={"media": {"id": value["image"]}}))

    assert refused.status_code == 422 and value["image"] in refused.json()["message"]


def test_posting_as_a_page_the_token_does_not_administer_is_access_denied(linkedin):
    refused = linkedin.post("/posts", json=new_post("Hi", author="urn:li:organization:1337"))

    assert (refused.status_code, refused.json()["code"]) == (403, "ACCESS_DENIED")
    assert refused.json()["message"].startswith("Not enough permissions to access: partnerApiPostsExternal.CREATE.")


@pytest.mark.parametrize(("token", "code"), [("bad", "INVALID_ACCESS_TOKEN"), ("expired", "EXPIRED_ACCESS_TOKEN")])
def test_a_bad_or_expired_token_is_refused_with_401_and_linkedins_code(linkedin, token, code):
    refused = linkedin.post("/posts", json=new_post("Hi"), headers={"Authorization": f"Bearer {token}"})

    assert (refused.status_code, refused.json()["code"], refused.json()["status"]) == (401, code, 401)


def test_a_urn_left_unencoded_in_the_path_is_refused(linkedin):
    urn = linkedin.post("/posts", json=new_post("Hi")).headers["x-restli-id"]

    assert linkedin.delete(f"/posts/{urn}").status_code == 400
    assert linkedin.delete(f"/posts/{quote(urn, safe='')}").status_code == 204


def test_the_author_finder_lists_the_pages_published_posts_newest_first(linkedin):
    first = linkedin.post("/posts", json=new_post("First")).headers["x-restli-id"]
    second = linkedin.post("/posts", json=new_post("Second")).headers["x-restli-id"]
    linkedin.post("/posts", json=new_post("Draft", lifecycleState="DRAFT"))

    found = linkedin.get("/posts", params={"author": ORGANIZATION, "q": "author", "sortBy": "CREATED"}).json()

    assert [p["id"] for p in found["elements"]] == [second, first]
    assert found["paging"]["total"] == 2


def test_the_same_text_twice_within_an_hour_is_refused_as_a_duplicate(linkedin):
    first = linkedin.post("/posts", json=new_post("Pools open")).headers["x-restli-id"]

    again = linkedin.post("/posts", json=new_post("Pools open"))

    assert (again.status_code, again.json()["code"]) == (422, "DUPLICATE_POST")
    assert again.json()["message"] == f"Content is a duplicate of {first}"


def test_commentary_longer_than_3000_characters_is_refused(linkedin):
    refused = linkedin.post("/posts", json=new_post("a" * 3001))

    assert refused.status_code == 422 and "/commentary" in refused.json()["message"]


def test_a_daily_limit_answers_429_in_linkedins_words_without_a_retry_after(sandbox, linkedin):
    sandbox.faults(linkedin={"rate_limit_next": 1})

    limited = linkedin.post("/posts", json=new_post("Hi"))

    assert limited.status_code == 429 and "retry-after" not in limited.headers
    assert "DAY limit" in limited.json()["message"]


def test_a_post_has_its_own_page_and_the_page_its_company_page_until_it_is_deleted(sandbox, linkedin):
    urn = linkedin.post("/posts", json=new_post("Farmers market opens")).headers["x-restli-id"]

    page = httpx.get(f"{sandbox.url}/linkedin/feed/update/{urn}")
    company = httpx.get(f"{sandbox.url}/linkedin/company/city-of-sandbox")
    assert page.status_code == 200 and "Farmers market opens" in page.text
    assert company.status_code == 200 and "Farmers market opens" in company.text
    linkedin.delete(f"/posts/{quote(urn, safe='')}")
    assert httpx.get(f"{sandbox.url}/linkedin/feed/update/{urn}").status_code == 404


# --- the adapter through the sandbox -------------------------------------------------------


def channel_adapter(sandbox, **credentials: str):
    chosen = spec("linkedin").sandbox
    return build_adapter("linkedin", {**chosen.credentials("parks"), **credentials}, chosen.settings(sandbox.url),
                         timeout=3, allow_private_network=True)


def test_the_adapter_publishes_with_an_image_finds_and_deletes_through_the_sandbox(sandbox, tmp_path: Path):
    (tmp_path / "pool").write_bytes(png())
    outgoing = Outgoing(key="k", text="Pools (all 3) open #Summer, bring a_towel", created_at=datetime.now(UTC),
                        media=[MediaItem(tmp_path / "pool", "image/png", "An empty pool")])
    adapter = channel_adapter(sandbox)

    receipt = adapter.publish(outgoing)

    [post] = sandbox.state.linkedin.timeline()
    assert (post.id, post.text, post.alts) == (receipt.remote_id, outgoing.text, ("An empty pool",))
    assert httpx.get(receipt.remote_url).status_code == 200
    assert adapter.find(outgoing) == receipt
    assert adapter.check() == {"account": "City of Sandbox", "vanity_name": "city-of-sandbox"}
    adapter.delete(receipt.remote_id)
    adapter.delete(receipt.remote_id)
    assert sandbox.state.linkedin.timeline() == [] and adapter.find(outgoing) is None


def test_a_post_accepted_then_hung_is_maybe_posted_and_then_found(sandbox):
    sandbox.faults(linkedin={"hang_next": 1, "hang_max_s": 10})
    outgoing = Outgoing(key="k", text="Storm drains cleared", created_at=datetime.now(UTC))
    adapter = channel_adapter(sandbox)

    with pytest.raises(MaybePosted):
        adapter.publish(outgoing)

    found = adapter.find(outgoing)
    assert found is not None and [p.id for p in sandbox.state.linkedin.timeline()] == [found.remote_id]


def test_the_sandboxs_refusals_reach_the_adapter_as_credentials_and_rate_limit_errors(sandbox):
    outgoing = Outgoing(key="k", text="Hi", created_at=datetime.now(UTC))
    with pytest.raises(CredentialsError):
        channel_adapter(sandbox, access_token="expired").publish(outgoing)

    sandbox.faults(linkedin={"rate_limit_next": 1})
    with pytest.raises(RateLimited) as caught:
        channel_adapter(sandbox).publish(outgoing)
    assert caught.value.retry_after and caught.value.retry_after > 0

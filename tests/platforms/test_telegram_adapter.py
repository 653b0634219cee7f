"""The Telegram adapter against recorded Bot API answers: how a post goes out,
how each refusal maps to what the worker does, and that the bot token (part of
every Bot API URL) never shows in an error, a partial receipt or a log line."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from PIL import Image

from civicpost.platforms import (
    AddressRefused,
    CredentialsError,
    MaybePosted,
    MediaItem,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
    build_adapter,
)
from civicpost.platforms.telegram.adapter import TelegramAdapter
from tests.factories import make_outgoing

from .recorded import TIMEOUT
from .recorded.telegram import (
    ADMINISTRATOR,
    API,
    BOT,
    CHANNEL,
    CHAT_ID,
    NGINX_502,
    SECRET_PART,
    TELEGRAM_CREDENTIALS,
    TELEGRAM_SETTINGS,
    TOKEN,
    file_names,
    form_fields,
    message,
    photo_message,
    refused,
    sent,
)

PAGE = "https://news.city.example/announcements/7"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    # Every mocked answer must be asked for, and nothing unmocked may be asked.
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def adapter(**settings: object) -> TelegramAdapter:
    return TelegramAdapter(TELEGRAM_CREDENTIALS, {**TELEGRAM_SETTINGS, **settings}, timeout=TIMEOUT)


def image(tmp_path: Path, n: int = 1) -> MediaItem:
    path = tmp_path / (f"{n:x}" * 64)[:64]
    Image.new("RGB", (40, 30), "green").save(path, "PNG")
    return MediaItem(path=path, mime_type="image/png", alt_text="Lifeguards at the pool")


def body(call: respx.models.Call) -> dict:
    return json.loads(call.request.content)


# --- publishing -----------------------------------------------------------------------


def test_text_goes_out_as_one_plain_message_with_a_button_to_the_announcements_page(router) -> None:
    send = router.post(f"{API}/sendMessage").respond(json=sent(message(42)))

    receipt = adapter().publish(make_outgoing(link="https://city.example/pools", public_url=PAGE,
                                              extra={"button": "Read it on the city's website"}))

    sent_body = body(send.calls.last)
    assert sent_body["chat_id"] == "@cityofexample"
    assert sent_body["text"] == make_outgoing().text and "parse_mode" not in sent_body  # plain text: nothing to escape
    assert sent_body["link_preview_options"] == {"url": "https://city.example/pools"}
    assert sent_body["reply_markup"] == {"inline_keyboard": [[{"text": "Read it on the city's website", "url": PAGE}]]}
    assert "disable_notification" not in sent_body and "reply_parameters" not in sent_body
    assert (receipt.remote_id, receipt.part_ids) == (f"{CHAT_ID}/42", [f"{CHAT_ID}/42"])
    assert receipt.remote_url == "https://t.me/cityofexample/42"


def test_a_page_telegram_cannot_open_gets_no_button_and_a_post_without_a_link_previews_its_page(router) -> None:
    send = router.post(f"{API}/sendMessage").respond(json=sent(message(42)))

    adapter().publish(make_outgoing(public_url="http://127.0.0.1:8000/announcements/7", extra={"button": "Read it"}))
    adapter().publish(make_outgoing(public_url=PAGE))  # no button label rendered: no button

    first, second = (body(call) for call in send.calls)
    assert "reply_markup" not in first and "link_preview_options" not in first
    assert "reply_markup" not in second and second["link_preview_options"] == {"url": PAGE}


def test_a_channel_can_turn_link_previews_off(router) -> None:
    send = router.post(f"{API}/sendMessage").respond(json=sent(message(42)))

    adapter(link_preview=False).publish(make_outgoing(link="https://city.example/pools"))

    assert body(send.calls.last)["link_preview_options"] == {"is_disabled": True}


def test_one_image_with_a_short_text_is_one_photo_with_the_text_as_its_caption(router, tmp_path) -> None:
    photo = router.post(f"{API}/sendPhoto").respond(json=sent(photo_message(43, "Pools open")))

    receipt = adapter().publish(make_outgoing(media=[image(tmp_path)], public_url=PAGE, extra={"button": "Read it"}))

    request = photo.calls.last.request
    fields = form_fields(request)
    assert fields["chat_id"] == "@cityofexample" and fields["caption"] == make_outgoing().text
    assert json.loads(fields["reply_markup"])["inline_keyboard"][0][0]["url"] == PAGE
    assert file_names(request) == ["photo"] and b'filename="image1.png"' in request.content
    assert receipt.part_ids == [f"{CHAT_ID}/43"]


def test_a_caption_too_long_in_utf16_units_sends_the_text_first_and_the_image_as_a_silent_reply(
    router, tmp_path
) -> None:
    # 600 emoji: 600 characters, but 1,200 UTF-16 units as Telegram counts a caption (1,024 at most).
    text = "🏊" * 600
    send = router.post(f"{API}/sendMessage").respond(json=sent(message(44, text)))
    photo = router.post(f"{API}/sendPhoto").respond(json=sent(photo_message(45)))

    receipt = adapter().publish(make_outgoing(text=text, media=[image(tmp_path)]))

    assert body(send.calls.last)["text"] == text
    fields = form_fields(photo.calls.last.request)
    assert "caption" not in fields and fields["disable_notification"] == "true"
    assert json.loads(fields["reply_parameters"]) == {"message_id": 44, "allow_sending_without_reply": True}
    assert receipt.part_ids == [f"{CHAT_ID}/44,45"] and receipt.remote_url == "https://t.me/cityofexample/44"


def test_several_images_follow_the_text_as_one_album_of_attached_files(router, tmp_path) -> None:
    router.post(f"{API}/sendMessage").respond(json=sent(message(46)))
    album = router.post(f"{API}/sendMediaGroup").respond(
        json=sent([photo_message(47, media_group_id="13400"), photo_message(48, media_group_id="13400")]))

    receipt = adapter().publish(make_outgoing(media=[image(tmp_path, 1), image(tmp_path, 2)]))

    request = album.calls.last.request
    assert json.loads(form_fields(request)["media"]) == [{"type": "photo", "media": "attach://photo0"},
                                                          {"type": "photo", "media": "attach://photo1"}]
    assert file_names(request) == ["photo0", "photo1"]
    assert receipt.part_ids == [f"{CHAT_ID}/46,47,48"]


def test_an_image_that_cannot_be_read_fails_the_send_before_anything_goes_out(router, tmp_path) -> None:
    missing = MediaItem(path=tmp_path / "gone", mime_type="image/png", alt_text="Lifeguards at the pool")

    with pytest.raises(PermanentError, match="image 2 cannot be read") as caught:
        adapter().publish(make_outgoing(text="🏊" * 600, media=[image(tmp_path), missing]))

    assert not isinstance(caught.value, MaybePosted) and not router.calls  # no route: any request would fail


def test_a_thread_goes_out_as_silent_replies_each_to_the_part_before(router) -> None:
    send = router.post(f"{API}/sendMessage").mock(side_effect=[
        httpx.Response(200, json=sent(message(n))) for n in (50, 51, 52)])

    receipt = adapter().publish(make_outgoing(parts=["Part one", "Part two", "Part three"], link="https://city.example/p"))

    first, second, third = (body(call) for call in send.calls)
    assert "reply_parameters" not in first and "disable_notification" not in first
    assert second["reply_parameters"]["message_id"] == 50 and third["reply_parameters"]["message_id"] == 51
    assert second["disable_notification"] is True and second["link_preview_options"] == {"is_disabled": True}
    assert receipt.part_ids == [f"{CHAT_ID}/50", f"{CHAT_ID}/51", f"{CHAT_ID}/52"]


def test_a_retried_thread_continues_after_the_parts_already_posted(router) -> None:
    send = router.post(f"{API}/sendMessage").respond(json=sent(message(52)))

    receipt = adapter().publish(make_outgoing(parts=["one", "two", "three"],
                                              already_posted=[f"{CHAT_ID}/50", f"{CHAT_ID}/51"]))

    assert len(send.calls) == 1 and body(send.calls.last)["text"] == "three"
    assert body(send.calls.last)["reply_parameters"]["message_id"] == 51
    assert receipt.part_ids == [f"{CHAT_ID}/50", f"{CHAT_ID}/51", f"{CHAT_ID}/52"]
    assert receipt.remote_url == "https://t.me/cityofexample/50"


def test_a_thread_that_fails_midway_says_which_parts_went_out(router) -> None:
    router.post(f"{API}/sendMessage").mock(side_effect=[
        httpx.Response(200, json=sent(message(50))),
        httpx.Response(429, json=refused(429, "Too Many Requests: retry after 3", retry_after=3))])

    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing(parts=["one", "two"]))

    assert caught.value.retry_after == 3
    assert caught.value.partial is not None and caught.value.partial.part_ids == [f"{CHAT_ID}/50"]


def test_a_private_channel_by_numeric_id_gets_a_members_only_link(router) -> None:
    private = {"id": CHAT_ID, "title": "City staff", "type": "channel"}
    send = router.post(f"{API}/sendMessage").respond(json=sent(message(9, chat=private)))

    receipt = adapter(chat_id=str(CHAT_ID)).publish(make_outgoing())

    assert body(send.calls.last)["chat_id"] == CHAT_ID
    assert receipt.remote_url == "https://t.me/c/1234567890/9"


def test_every_request_carries_the_channels_timeout(router, tmp_path) -> None:
    router.post(f"{API}/sendMessage").respond(json=sent(message(44)))
    router.post(f"{API}/sendMediaGroup").respond(json=sent([photo_message(45), photo_message(46)]))

    adapter().publish(make_outgoing(media=[image(tmp_path, 1), image(tmp_path, 2)]))

    assert [call.request.extensions["timeout"]["read"] for call in router.calls] == [TIMEOUT, TIMEOUT]


# --- what Telegram's refusals mean ---------------------------------------------------------

REFUSALS = {
    "a wrong token": (401, refused(401, "Unauthorized"), CredentialsError, "@BotFather"),
    "a token of the wrong shape": (404, refused(404, "Not Found"), CredentialsError, "@BotFather"),
    "a bot outside the channel": (403, refused(403, "Forbidden: bot is not a member of the channel chat"),
                                  CredentialsError, "administrator"),
    "a bot without the right to post": (400, refused(400, "Bad Request: need administrator rights in the channel chat"),
                                        CredentialsError, "administrator"),
    "a chat that does not exist": (400, refused(400, "Bad Request: chat not found"), CredentialsError, "chat_id"),
    "a group that moved": (400, refused(400, "Bad Request: group chat was upgraded to a supergroup chat",
                                        migrate_to_chat_id=-1009876543210), CredentialsError, "-1009876543210"),
    "a post Telegram refuses": (400, refused(400, "Bad Request: message is too long"), PermanentError,
                                "message is too long"),
    "a server error": (500, refused(500, "Internal Server Error"), TransientError, "500"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_becomes_the_error_that_says_what_to_do_with_telegrams_words(router, case) -> None:
    status, answer, kind, words = REFUSALS[case]
    router.post(f"{API}/sendMessage").respond(status, json=answer)

    with pytest.raises(PlatformError) as caught:
        adapter().publish(make_outgoing())

    assert type(caught.value) is kind
    assert str(caught.value).startswith(f"Telegram answered {status}: {answer['description']}")
    assert words in str(caught.value)


def test_flood_control_is_a_rate_limit_for_the_seconds_telegram_names(router) -> None:
    answer = refused(429, "Too Many Requests: retry after 35", retry_after=35)
    router.post(f"{API}/sendMessage").respond(429, json=answer)

    with pytest.raises(RateLimited) as caught:
        adapter().publish(make_outgoing())

    assert caught.value.retry_after == 35


def test_the_front_servers_html_502_is_transient_and_not_a_maybe(router) -> None:
    router.post(f"{API}/sendMessage").respond(502, content=NGINX_502, headers={"content-type": "text/html"})

    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing())

    assert not isinstance(caught.value, MaybePosted | RateLimited)
    assert str(caught.value) == "Telegram answered 502 Bad Gateway" and "<html>" not in str(caught.value)


def test_a_timeout_after_sending_may_have_posted_and_a_refused_connection_did_not(router) -> None:
    route = router.post(f"{API}/sendMessage")
    route.side_effect = httpx.ReadTimeout("timed out")
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())

    route.side_effect = httpx.ConnectError("[Errno 111] Connection refused")
    with pytest.raises(TransientError) as caught:
        adapter().publish(make_outgoing())
    assert not isinstance(caught.value, MaybePosted)


def test_an_answer_that_is_not_the_bot_apis_may_have_posted_and_says_to_check_api_base(router) -> None:
    router.post(f"{API}/sendMessage").respond(200, content=b"<html>welcome</html>")
    with pytest.raises(MaybePosted, match="api_base"):
        adapter().publish(make_outgoing())


def test_a_result_without_a_message_id_may_have_posted(router) -> None:
    router.post(f"{API}/sendMessage").respond(json=sent({"chat": CHANNEL}))
    with pytest.raises(MaybePosted):
        adapter().publish(make_outgoing())


# --- the token stays secret ----------------------------------------------------------------

LEAKS = {
    **{case: httpx.Response(status, json=answer) for case, (status, answer, _, _) in REFUSALS.items()},
    "an answer echoing the address": httpx.Response(
        400, json=refused(400, f"Bad Request: no route /bot{TOKEN}/sendMessage")),
    "a timeout": httpx.ReadTimeout(f"timed out reading {API}/sendMessage"),
    "a refused connection": httpx.ConnectError(f"cannot connect for /bot{TOKEN}/sendMessage"),
    "an unreadable answer": httpx.Response(200, content=f"/bot{TOKEN}/sendMessage".encode()),
}


@pytest.mark.parametrize("case", list(LEAKS))
def test_the_bot_token_never_shows_in_an_error_its_cause_or_its_partial_receipt(router, case) -> None:
    answer = LEAKS[case]
    router.post(f"{API}/sendMessage").mock(side_effect=[httpx.Response(200, json=sent(message(50))), answer])

    with pytest.raises(PlatformError) as caught:
        adapter().publish(make_outgoing(parts=["one", "two"]))

    chain, error = [], caught.value
    while error is not None:
        chain.append(f"{error!s} {error!r}")
        error = error.__cause__ or error.__context__
    words = " ".join(chain) + repr(caught.value.partial)
    assert TOKEN not in words and SECRET_PART not in words


def test_the_bot_token_never_shows_in_httpxs_log_lines(router, caplog) -> None:
    router.post(f"{API}/sendMessage").respond(json=sent(message(42)))

    with caplog.at_level(logging.DEBUG):
        adapter().publish(make_outgoing())

    assert any("sendMessage" in record.getMessage() for record in caplog.records)
    assert all(SECRET_PART not in record.getMessage() for record in caplog.records)


def test_an_address_the_guard_refuses_is_refused_before_the_token_leaves_and_without_naming_it() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(url__regex=r".*")
        with pytest.raises(AddressRefused) as caught:
            build_adapter("telegram", TELEGRAM_CREDENTIALS, {**TELEGRAM_SETTINGS, "api_base": "http://127.0.0.1:8081"},
                          timeout=TIMEOUT, allow_private_network=False).publish(make_outgoing())
    assert not route.called
    assert SECRET_PART not in str(caught.value)


# --- delete, find, check --------------------------------------------------------------------


def test_delete_takes_down_a_message_in_the_chat_it_was_posted_to_whatever_the_setting_says_now(router) -> None:
    delete = router.post(f"{API}/deleteMessage").respond(json=sent(True))

    adapter(chat_id="@renamedchannel").delete(f"{CHAT_ID}/42")

    assert body(delete.calls.last) == {"chat_id": CHAT_ID, "message_id": 42}


def test_delete_takes_down_a_text_and_its_album_in_one_call(router) -> None:
    delete = router.post(f"{API}/deleteMessages").respond(json=sent(True))

    adapter().delete(f"{CHAT_ID}/46,47,48")

    assert body(delete.calls.last) == {"chat_id": CHAT_ID, "message_ids": [46, 47, 48]}


def test_deleting_a_message_someone_already_deleted_succeeds(router) -> None:
    router.post(f"{API}/deleteMessage").respond(400, json=refused(400, "Bad Request: message to delete not found"))
    adapter().delete(f"{CHAT_ID}/42")


def test_a_message_past_telegrams_48_hours_is_left_for_a_person_with_a_sentence(router) -> None:
    router.post(f"{API}/deleteMessage").respond(400, json=refused(400, "Bad Request: message can't be deleted"))

    with pytest.raises(PermanentError) as caught:
        adapter().delete(f"{CHAT_ID}/42")

    assert not isinstance(caught.value, CredentialsError)
    assert "48 hours" in str(caught.value) and "by hand in the Telegram channel" in str(caught.value)


def test_a_delete_with_a_revoked_token_is_a_credentials_error_so_it_is_tried_again_once_fixed(router) -> None:
    router.post(f"{API}/deleteMessage").respond(401, json=refused(401, "Unauthorized"))
    with pytest.raises(CredentialsError):
        adapter().delete(f"{CHAT_ID}/42")


def test_an_id_civicpost_did_not_make_is_refused_without_asking_telegram(router) -> None:
    with pytest.raises(PermanentError, match="not a Telegram message id"):
        adapter().delete("1880000000000000001")


def test_find_refuses_rather_than_answer_not_posted() -> None:
    with pytest.raises(PermanentError, match="cannot look a message up"):
        adapter().find(make_outgoing())


def test_check_names_the_bot_and_the_channel_it_may_post_to(router) -> None:
    router.post(f"{API}/getMe").respond(json=sent(BOT))
    router.post(f"{API}/getChat").respond(json=sent(CHANNEL))
    member = router.post(f"{API}/getChatMember").respond(json=sent(ADMINISTRATOR))

    facts = adapter().check()

    assert facts == {"account": "@CityOfExampleBot, posting to City of Example"}
    assert body(member.calls.last) == {"chat_id": "@cityofexample", "user_id": BOT["id"]}


@pytest.mark.parametrize("member", [
    {"status": "member", "user": BOT},
    {**ADMINISTRATOR, "can_post_messages": False},
    {"status": "left", "user": BOT},
])
def test_check_says_when_the_bot_is_not_an_administrator_allowed_to_post(router, member) -> None:
    router.post(f"{API}/getMe").respond(json=sent(BOT))
    router.post(f"{API}/getChat").respond(json=sent(CHANNEL))
    router.post(f"{API}/getChatMember").respond(json=sent(member))

    with pytest.raises(CredentialsError) as caught:
        adapter().check()

    assert "@CityOfExampleBot" in str(caught.value) and "Administrators" in str(caught.value)


def test_check_with_a_wrong_token_is_a_credentials_error(router) -> None:
    router.post(f"{API}/getMe").respond(401, json=refused(401, "Unauthorized"))
    with pytest.raises(CredentialsError, match="@BotFather"):
        adapter().check()

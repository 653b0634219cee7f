"""The Telegram Bot API as the sandbox plays it: request forms, answers and
errors as api.telegram.org gives them, and the channel's public pages."""

import json
import time

import httpx
import pytest

TOKEN = "123456789:sandbox-bot-token-for-the-tests"
SECRET_PART = TOKEN.partition(":")[2]


@pytest.fixture
def bot(sandbox):
    with httpx.Client(base_url=f"{sandbox.url}/telegram/bot{TOKEN}/", timeout=5) as client:
        yield client


def post(bot, method: str, **params) -> httpx.Response:
    return bot.post(method, json=params)


def send(bot, text: str = "Pool opens Saturday", chat: str = "@citysandbox", **params) -> dict:
    answer = post(bot, "sendMessage", chat_id=chat, text=text, **params).json()
    assert answer["ok"], answer
    return answer["result"]


def test_a_message_is_a_channel_post_with_its_links_marked_in_utf16_units(bot) -> None:
    message = send(bot, "🏊 Pool: https://city.example/pool")

    channel = message["chat"]
    assert (channel["type"], channel["username"]) == ("channel", "citysandbox")
    assert str(channel["id"]).startswith("-100")
    assert message["sender_chat"] == channel and "from" not in message
    # Eight characters come before the link, but the emoji is two UTF-16 units: it starts at 9.
    assert message["entities"] == [{"type": "url", "offset": 9, "length": 25}]


@pytest.mark.parametrize("form", ["json", "form", "query"])
def test_parameters_come_as_json_a_form_or_the_query_string_with_objects_as_json_strings(bot, form) -> None:
    first = send(bot)
    params = {"chat_id": "@citysandbox", "text": "Part two",
              "reply_parameters": {"message_id": first["message_id"]}, "disable_notification": True}
    if form == "json":
        answer = bot.post("sendMessage", json=params)
    else:
        flat = {k: json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else v
                for k, v in params.items()}
        answer = bot.post("sendMessage", data=flat) if form == "form" else bot.get("sendMessage", params=flat)

    reply = answer.json()["result"]
    assert reply["text"] == "Part two" and reply["reply_to_message"]["message_id"] == first["message_id"]


def test_method_names_are_read_without_regard_to_case_and_an_unknown_one_is_not_found(bot) -> None:
    assert bot.post("getme").json()["result"]["username"] == "CitySandboxBot"
    assert bot.post("sendSticker").json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_limits_are_counted_as_telegram_counts_them_in_utf16_units(bot, tmp_path) -> None:
    too_long = post(bot, "sendMessage", chat_id="@citysandbox", text="🏊" * 2049)  # 4,098 units
    fits = post(bot, "sendMessage", chat_id="@citysandbox", text="🏊" * 2048)
    caption = bot.post("sendPhoto", data={"chat_id": "@citysandbox", "caption": "🏊" * 513},
                       files={"photo": ("pool.png", b"\x89PNG", "image/png")})

    assert too_long.status_code == 400
    assert too_long.json() == {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
    assert fits.json()["ok"]
    assert caption.json()["description"] == "Bad Request: message caption is too long"
    assert post(bot, "sendMessage", chat_id="@citysandbox", text="  ").json()["description"] == \
        "Bad Request: message text is empty"


def test_an_album_of_attached_photos_is_several_messages_of_one_media_group(sandbox, bot) -> None:
    media = [{"type": "photo", "media": "attach://a", "caption": "Two views"}, {"type": "photo", "media": "attach://b"}]
    answer = bot.post("sendMediaGroup", data={"chat_id": "@citysandbox", "media": json.dumps(media)},
                      files={"a": ("a.png", b"\x89PNG a", "image/png"), "b": ("b.png", b"\x89PNG b", "image/png")})

    first, second = answer.json()["result"]
    assert first["media_group_id"] == second["media_group_id"] and first["caption"] == "Two views"
    assert second["message_id"] == first["message_id"] + 1 and len(first["photo"]) == 2
    # Telegram keeps no alt text: the timeline says so for each image.
    assert [post.alts for post in sandbox.state.telegram.timeline()] == [("",), ("",)]


def test_an_album_must_name_its_attachments_and_hold_two_to_ten(bot) -> None:
    missing = bot.post("sendMediaGroup", data={"chat_id": "@citysandbox", "media": json.dumps(
        [{"type": "photo", "media": "attach://a"}, {"type": "photo", "media": "attach://nothere"}])},
        files={"a": ("a.png", b"\x89PNG", "image/png")})
    one = post(bot, "sendMediaGroup", chat_id="@citysandbox", media=[{"type": "photo", "media": "AgACfileid"}])
    unreadable = bot.post("sendMediaGroup", data={"chat_id": "@citysandbox", "media": "[{"})

    assert missing.json()["description"] == "Bad Request: can't parse InputMedia: media not found"
    assert one.json()["description"] == "Bad Request: media group must include 2-10 items"
    assert unreadable.json()["description"] == "Bad Request: can't parse media JSON object"


def test_a_token_of_the_wrong_shape_is_not_found_and_a_bad_one_unauthorized(sandbox) -> None:
    malformed = httpx.post(f"{sandbox.url}/telegram/botnot-a-token/getMe")
    bad = httpx.post(f"{sandbox.url}/telegram/bot123:bad/getMe")

    assert (malformed.status_code, malformed.json()["description"]) == (404, "Not Found")
    assert bad.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_the_token_in_the_path_never_reaches_the_request_log(sandbox, bot) -> None:
    send(bot)

    logged = sandbox.requests("telegram")
    assert [entry["path"] for entry in logged] == ["/telegram/bot[redacted]/sendMessage"]
    assert SECRET_PART not in json.dumps(logged)


@pytest.mark.parametrize(("chat", "status", "description"), [
    ("@nosuchchannel", 400, "Bad Request: chat not found"),
    ("@notamember", 403, "Forbidden: bot is not a member of the channel chat"),
    ("@notanadmin", 400, "Bad Request: need administrator rights in the channel chat"),
    ("12345", 400, "Bad Request: chat not found"),
])
def test_a_channel_the_bot_cannot_post_to_is_refused_as_telegram_refuses_it(bot, chat, status, description) -> None:
    answer = post(bot, "sendMessage", chat_id=chat, text="Hello")
    assert (answer.status_code, answer.json()["description"]) == (status, description)


def test_get_chat_member_tells_whether_the_bot_is_an_administrator_allowed_to_post(bot) -> None:
    me = bot.post("getMe").json()["result"]

    admin = post(bot, "getChatMember", chat_id="@citysandbox", user_id=me["id"]).json()["result"]
    member = post(bot, "getChatMember", chat_id="@notanadmin", user_id=me["id"]).json()["result"]
    chat = post(bot, "getChat", chat_id="@citysandbox").json()["result"]

    assert (admin["status"], admin["can_post_messages"], admin["user"]["id"]) == ("administrator", True, me["id"])
    assert member["status"] == "member"
    assert chat["type"] == "channel" and chat["title"]


def test_a_reply_to_a_missing_message_is_refused_unless_it_may_go_without(bot) -> None:
    refused = post(bot, "sendMessage", chat_id="@citysandbox", text="x", reply_parameters={"message_id": 1})
    allowed = post(bot, "sendMessage", chat_id="@citysandbox", text="x",
                   reply_parameters={"message_id": 1, "allow_sending_without_reply": True})

    assert refused.json()["description"] == "Bad Request: message to be replied not found"
    assert allowed.json()["ok"] and "reply_to_message" not in allowed.json()["result"]


def test_a_button_to_a_local_address_is_refused_as_telegram_refuses_it(bot) -> None:
    markup = {"inline_keyboard": [[{"text": "Read it", "url": "http://localhost:8000/announcements/1"}]]}
    answer = post(bot, "sendMessage", chat_id="@citysandbox", text="x", reply_markup=markup)
    assert answer.json()["description"] == \
        "Bad Request: inline keyboard button URL 'http://localhost:8000/announcements/1' is invalid: Wrong HTTP URL"


def test_a_message_can_be_deleted_within_48_hours_and_not_after(sandbox, bot) -> None:
    first, second = send(bot), send(bot)

    assert post(bot, "deleteMessage", chat_id="@citysandbox", message_id=first["message_id"]).json() == \
        {"ok": True, "result": True}
    again = post(bot, "deleteMessage", chat_id="@citysandbox", message_id=first["message_id"])
    sandbox.state.telegram.age(hours=49)
    late = post(bot, "deleteMessage", chat_id="@citysandbox", message_id=second["message_id"])

    assert again.json()["description"] == "Bad Request: message to delete not found"
    assert late.json()["description"] == "Bad Request: message can't be deleted"
    chat = sandbox.state.telegram.channel("@citysandbox").id
    assert [p.id for p in sandbox.state.telegram.timeline()] == [f"{chat}/{second['message_id']}"]


def test_delete_messages_takes_several_at_once_and_skips_missing_ones(sandbox, bot) -> None:
    ids = [send(bot)["message_id"] for _ in range(2)]

    answer = post(bot, "deleteMessages", chat_id="@citysandbox", message_ids=[*ids, 1])

    assert answer.json() == {"ok": True, "result": True}
    assert sandbox.state.telegram.timeline() == []


def test_a_rate_limit_names_the_seconds_to_wait_in_parameters(sandbox, bot) -> None:
    sandbox.faults(telegram={"rate_limit_next": 1, "rate_limit_reset_s": 35})

    answer = post(bot, "sendMessage", chat_id="@citysandbox", text="x")

    body = answer.json()
    assert answer.status_code == 429 and body["parameters"]["retry_after"] in (34, 35)
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"


@pytest.mark.parametrize(("status", "json_answer"), [(500, True), (502, False)])
def test_server_errors_come_as_the_bot_api_or_its_front_server_gives_them(sandbox, bot, status, json_answer) -> None:
    sandbox.faults(telegram={"fail_next": 1, "fail_status": status})

    answer = post(bot, "sendMessage", chat_id="@citysandbox", text="x")

    assert answer.status_code == status
    if json_answer:
        assert answer.json() == {"ok": False, "error_code": 500, "description": "Internal Server Error"}
    else:
        assert answer.headers["content-type"].startswith("text/html") and "502 Bad Gateway" in answer.text


def test_accept_then_hang_keeps_the_message_and_never_answers(sandbox, bot) -> None:
    sandbox.faults(telegram={"hang_next": 1, "hang_max_s": 5})

    with pytest.raises(httpx.ReadTimeout):
        bot.post("sendMessage", json={"chat_id": "@citysandbox", "text": "Did it go out?"}, timeout=0.5)

    assert [p.text for p in sandbox.state.telegram.timeline()] == ["Did it go out?"]


def test_a_posts_page_is_at_its_t_me_address_for_public_and_private_channels(sandbox, bot) -> None:
    public = send(bot, "Pool opens Saturday")
    private = send(bot, "Staff meeting", chat="-1001234567890")

    shown = httpx.get(f"{sandbox.url}/t.me/citysandbox/{public['message_id']}")
    hidden = httpx.get(f"{sandbox.url}/t.me/c/1234567890/{private['message_id']}")
    gone = httpx.get(f"{sandbox.url}/t.me/citysandbox/1")

    assert shown.status_code == 200 and "Pool opens Saturday" in shown.text
    assert hidden.status_code == 200 and "Staff meeting" in hidden.text
    assert gone.status_code == 404


def test_message_ids_keep_growing_across_a_restart_so_an_address_is_never_reused(sandbox, bot) -> None:
    before = send(bot)["message_id"]
    sandbox.http.post("/_sandbox/reset").raise_for_status()
    time.sleep(1.1)  # ids start from the clock's seconds

    assert send(bot)["message_id"] > before

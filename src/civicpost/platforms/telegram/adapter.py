"""A Telegram channel through the Bot API (bot.py speaks it).

How a post goes out:
- Text alone: one `sendMessage`, plain text (no parse mode: nothing to escape,
  and Telegram's 4,096 count is the text's own UTF-16 length).
- One image and a text of at most 1,024 units: one `sendPhoto` with the text
  as its caption.
- Otherwise (a longer text, or several images): the text as a message, then
  the images as a silent reply to it (`sendPhoto`, or `sendMediaGroup` for an
  album, which cannot carry a button).
- A thread (the channel's overflow "thread"): each further part is a silent
  reply to the part before.
The first message carries a button that opens the announcement's page on the
city's site (Telegram keeps no alt text; the page does), when that page has a
public address Telegram accepts.

Ids: one per part, "<chat id>/<message id>[,<message id>...]" (every message
that carries the part), so a delete needs no setting and takes down an album
whole. Telegram cannot look a message up (`find` refuses), and lets a bot
delete its channel posts only within 48 hours.
"""

import ipaddress
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from civicpost.platforms._support import MALFORMED, unexpected_answer
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    CredentialsError,
    MediaItem,
    Outgoing,
    PermanentError,
    PlatformError,
    Receipt,
)
from civicpost.platforms.telegram import API_BASE, CAPTION_LIMIT, WEB_BASE
from civicpost.platforms.telegram.bot import BotApi, Refusal
from civicpost.text.lengths import utf16_units

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
_PRIVATE_PREFIX = "-100"  # a channel's or supergroup's numeric id is -100 followed by its own number


# A file as httpx uploads it: (file name, bytes, type).
Upload = tuple[str, bytes, str]


class Sent(NamedTuple):
    chat_id: int
    message_id: int
    username: str | None


class TelegramAdapter:
    def __init__(self, credentials: dict[str, Any], settings: dict[str, Any], *, timeout: float,
                 guard: AddressGuard | None = None) -> None:
        if not credentials.get("bot_token"):
            raise CredentialsError("Telegram channel has no bot_token")
        if not settings.get("chat_id"):
            raise PermanentError("Telegram channel has no chat_id setting")
        chat = str(settings["chat_id"])
        self._chat: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        self._web_base = str(settings.get("web_base") or WEB_BASE).rstrip("/")
        self._previews = settings.get("link_preview") is not False
        self._bot = BotApi(str(credentials["bot_token"]), str(settings.get("api_base") or API_BASE),
                           timeout=timeout, guard=guard)

    def publish(self, outgoing: Outgoing) -> Receipt:
        texts = outgoing.parts or [outgoing.text]
        posted = list(outgoing.already_posted[: len(texts)])
        usernames: list[str] = []
        # Read before anything is sent: an image that cannot be read must not leave half a post behind.
        images = [_file(item, n) for n, item in enumerate(outgoing.media)] if not posted else []
        try:
            for n in range(len(posted), len(texts)):
                sent: list[Sent] = []
                try:
                    self._send_part(texts[n], outgoing, images if n == 0 else [], n=n,
                                    reply_to=_first_message(posted[-1]) if posted else None, sent=sent)
                finally:
                    if sent:  # what did go out is kept, so a retract can take it down
                        posted.append(_part_id(sent))
                        usernames += [s.username for s in sent if s.username]
        except PlatformError as error:
            if posted:
                error.partial = self._receipt(posted, usernames)
            raise
        return self._receipt(posted, usernames)

    def delete(self, remote_id: str) -> None:
        chat, ids = _parse(remote_id)
        payload: dict[str, Any]
        if len(ids) == 1:
            method, payload = "deleteMessage", {"chat_id": chat, "message_id": ids[0]}
        else:
            method, payload = "deleteMessages", {"chat_id": chat, "message_ids": ids}
        try:
            self._bot.call(method, writing=False, payload=payload)
        except PermanentError as exc:
            refusal = exc.__cause__
            if isinstance(exc, CredentialsError) or not isinstance(refusal, Refusal):
                raise
            if refusal.says("message to delete not found"):
                return  # already gone: someone deleted it in Telegram
            if refusal.says("can't be deleted"):
                raise PermanentError(
                    f"{exc}; Telegram lets a bot delete a channel post only within 48 hours of posting it (and only "
                    "while the bot may post there): delete it by hand in the Telegram channel") from refusal
            raise

    def find(self, outgoing: Outgoing) -> Receipt | None:
        # The spec says find=False, so the engine never asks; a caller that does must not read "not posted".
        raise PermanentError("Telegram cannot look a message up: check the Telegram channel")

    def check(self) -> dict[str, Any]:
        me = self._bot.call("getMe", writing=False)
        try:
            bot = f"@{me['username']}"
            chat = self._bot.call("getChat", writing=False, payload={"chat_id": self._chat})
            member = self._bot.call("getChatMember", writing=False,
                                    payload={"chat_id": self._chat, "user_id": me["id"]})
            title, kind, status = str(chat.get("title") or self._chat), chat["type"], member["status"]
        except MALFORMED as exc:
            raise unexpected_answer("Telegram", writing=False) from exc
        may_post = status == "creator" or (status == "administrator" and member.get("can_post_messages", True))
        if kind == "channel" and not may_post:
            raise CredentialsError(
                f"the bot {bot} is {_as_member(status)} of the channel {title}, not an administrator allowed to post: "
                "in the channel's settings, add it under Administrators with the right to post messages")
        if status in ("left", "kicked"):
            raise CredentialsError(f"the bot {bot} is {_as_member(status)} of {title}: add it to the chat again")
        return {"account": f"{bot}, posting to {title}"}

    # --- sending ----------------------------------------------------------------------

    def _send_part(self, text: str, outgoing: Outgoing, media: list[Upload], *, n: int, reply_to: int | None,
                   sent: list[Sent]) -> None:
        """Send part `n` (with `media`, the first part's images); each message that lands is appended to `sent`."""
        common: dict[str, Any] = {"chat_id": self._chat}
        if reply_to is not None:
            common["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        if n > 0:
            common["disable_notification"] = True  # one notification per announcement, not per part
        button = self._button(outgoing) if n == 0 else None
        if button is not None:
            common["reply_markup"] = button
        if len(media) == 1 and utf16_units(text) <= CAPTION_LIMIT:
            sent.append(self._photo(media[0], {**common, "caption": text}))
            return
        message = {**common, "text": text}
        if preview := self._preview(outgoing, first=n == 0):
            message["link_preview_options"] = preview
        sent.append(_sent(self._bot.call("sendMessage", writing=True, payload=message)))
        if not media:
            return
        follow = {"chat_id": self._chat, "disable_notification": True,
                  "reply_parameters": {"message_id": sent[0].message_id, "allow_sending_without_reply": True}}
        if len(media) == 1:
            sent.append(self._photo(media[0], follow))
        else:
            sent.extend(self._album(media, follow))

    def _photo(self, image: Upload, fields: dict[str, Any]) -> Sent:
        return _sent(self._bot.call("sendPhoto", writing=True, payload=fields, files={"photo": image}))

    def _album(self, media: list[Upload], fields: dict[str, Any]) -> list[Sent]:
        files = {f"photo{n}": image for n, image in enumerate(media)}
        album = [{"type": "photo", "media": f"attach://photo{n}"} for n in range(len(media))]
        messages = self._bot.call("sendMediaGroup", writing=True, payload={**fields, "media": album}, files=files)
        if not isinstance(messages, list) or not messages:
            raise unexpected_answer("Telegram", writing=True)
        return [_sent(message) for message in messages]

    def _button(self, outgoing: Outgoing) -> dict[str, Any] | None:
        label, page = str(outgoing.extra.get("button") or "").strip(), _public_page(outgoing.public_url)
        if not label or page is None:
            return None
        return {"inline_keyboard": [[{"text": label, "url": page}]]}

    def _preview(self, outgoing: Outgoing, *, first: bool) -> dict[str, Any]:
        # Later parts of a thread show no card: the first already does.
        if not self._previews or not first:
            return {"is_disabled": True}
        url = outgoing.link or _public_page(outgoing.public_url)
        return {"url": url} if url else {}

    def _receipt(self, part_ids: list[str], usernames: list[str]) -> Receipt:
        username = next(iter(usernames), None) or (self._chat[1:] if isinstance(self._chat, str) else None)
        return Receipt(remote_id=part_ids[0], remote_url=self._message_url(part_ids[0], username),
                       part_ids=list(part_ids))

    def _message_url(self, part_id: str, username: str | None) -> str | None:
        """t.me/<username>/<id> for a public channel; t.me/c/<number>/<id> (members only) for a private one."""
        chat, ids = _parse(part_id)
        if username:
            return f"{self._web_base}/{username}/{ids[0]}"
        if str(chat).startswith(_PRIVATE_PREFIX):
            return f"{self._web_base}/c/{str(chat)[len(_PRIVATE_PREFIX):]}/{ids[0]}"
        return None


def _sent(message: Any) -> Sent:
    try:
        chat = message["chat"]
        return Sent(int(chat["id"]), int(message["message_id"]), chat.get("username") or None)
    except MALFORMED as exc:
        raise unexpected_answer("Telegram", writing=True) from exc


def _part_id(sent: list[Sent]) -> str:
    return f"{sent[0].chat_id}/" + ",".join(str(s.message_id) for s in sent)


def _parse(part_id: str) -> tuple[int, list[int]]:
    chat, _, rest = part_id.partition("/")
    try:
        return int(chat), [int(i) for i in rest.split(",")]
    except ValueError:
        raise PermanentError(f"{part_id!r} is not a Telegram message id that civicpost made") from None


def _first_message(part_id: str) -> int | None:
    try:
        return _parse(part_id)[1][0]
    except PermanentError:
        return None


def _file(item: MediaItem, n: int) -> Upload:
    try:
        data = item.path.read_bytes()
    except OSError as exc:
        # Nothing went out: a plain failure, not a send that may have posted.
        raise PermanentError(f"image {n + 1} cannot be read ({exc.strerror or exc}); nothing was sent") from None
    # Stored images are named by their hash; Telegram reads the type from the name too.
    return (f"image{n + 1}.{_EXTENSIONS.get(item.mime_type, 'jpg')}", data, item.mime_type)


def _public_page(url: str | None) -> str | None:
    """The address if Telegram can take it for a button or a preview: a named host on
    http(s); Telegram refuses localhost and the like ("Wrong HTTP URL")."""
    if not url:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or "." not in host or host.endswith((".localhost", ".local", ".internal")):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return url
    return None


def _as_member(status: object) -> str:
    return {"member": "a member", "restricted": "a restricted member", "left": "not a member",
            "kicked": "banned from", "administrator": "an administrator (without the right to post)"}.get(
        str(status), f"{status!s}")

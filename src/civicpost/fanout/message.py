"""A fan-out delivery's email, built once (composing an EmailMessage costs ~3 ms here, several
times the send): the message is serialised with placeholders where the per-recipient parts go (To,
Message-ID, the one-click unsubscribe headers and the links in the footer), and each recipient's
copy is the pieces joined around their values.
"""

from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicpost.subscribers import links
from civicpost.subscribers.crypto import SubscriberBox

if TYPE_CHECKING:
    from jinja2 import Environment

# Plain ASCII that quoted-printable leaves as it is; each stands alone on its line, so no soft break splits it.
_SLOTS = {"to": "XTOX0", "mid": "XMIDX0", "unsub": "XUNSUBX0", "manage": "XMANAGEX0"}
_BODY_SLOTS = ("unsub", "manage")
FOOTER_TEXT = "subscribers_email_footer.txt.j2"
FOOTER_HTML = "subscribers_email_footer.html.j2"


@dataclass(frozen=True)
class Person:
    """What a copy is made for: the subscriber's id and link nonce (links.Subscriber) and address."""

    id: int
    link_nonce: str
    email: str


class Letter:
    """One delivery's message, ready to be copied for each recipient."""

    def __init__(self, *, templates_dir: Path, rendition: dict[str, Any], sender: str, key: str,
                 public_url: str, base_url: str, box: SubscriberBox) -> None:
        self.sender = sender
        self._key = key
        extra_ = rendition.get("extra") or {}
        self.entry = Entry(extra_.get("subject") or rendition.get("text", "").split("\n", 1)[0],
                           rendition.get("text", ""), public_url)
        self._domain = sender.rpartition("@")[2].strip("> ") or "civicpost.invalid"
        self._site = base_url
        self._box = box
        env = environment(templates_dir)
        slots = {"unsubscribe_url": _SLOTS["unsub"], "manage_url": _SLOTS["manage"], "public_url": public_url}
        extra = rendition.get("extra") or {}
        message = EmailMessage(policy=SMTP)
        message["Subject"] = extra.get("subject") or rendition.get("text", "").split("\n", 1)[0]
        message["From"] = sender
        message["To"] = _SLOTS["to"]
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{_SLOTS['mid']}@{self._domain}>"
        message["List-Unsubscribe"] = f"<{_SLOTS['unsub']}>"
        message["List-Unsubscribe-Post"] = links.ONE_CLICK_BODY
        text = rendition.get("text", "") + "\n\n" + env.get_template(FOOTER_TEXT).render(slots).strip() + "\n"
        message.set_content(text, cte="quoted-printable")
        if extra.get("html"):
            html = extra["html"].replace("</body>", env.get_template(FOOTER_HTML).render(slots) + "</body>", 1)
            message.add_alternative(html, subtype="html", cte="quoted-printable")
        self._pieces, self._order = _split(message.as_bytes())

    def copy(self, person: Person) -> bytes:
        """This recipient's message: only their headers and links differ."""
        unsub = links.unsubscribe_url(self._site, self._box, person).encode()
        values = {"to": person.email.encode(), "mid": f"{self._key}.{person.id}".encode(), "unsub": unsub,
                  "manage": links.manage_url(self._site, self._box, person).encode()}
        out = [self._pieces[0]]
        for (slot, in_body), piece in zip(self._order, self._pieces[1:], strict=True):
            out.append(_soft_wrapped(values[slot]) if in_body else values[slot])
            out.append(piece)
        return b"".join(out)


def _split(raw: bytes) -> tuple[list[bytes], list[tuple[str, bool]]]:
    """The message cut at each slot: pieces, and which slot (and whether in a body) sits between them."""
    header_end = raw.index(b"\r\n\r\n")
    found = sorted((raw.find(_SLOTS[name].encode(), start), name)
                   for name in _SLOTS for start in _positions(raw, _SLOTS[name].encode()))
    pieces, order, at = [], [], 0
    for position, name in found:
        pieces.append(raw[at:position])
        order.append((name, position > header_end and name in _BODY_SLOTS))
        at = position + len(_SLOTS[name])
    pieces.append(raw[at:])
    return pieces, order


def _positions(raw: bytes, token: bytes) -> list[int]:
    found, at = [], raw.find(token)
    while at >= 0:
        found.append(at)
        at = raw.find(token, at + 1)
    return found


def _soft_wrapped(value: bytes, width: int = 72) -> bytes:
    """A link in a quoted-printable body, cut by soft line breaks (no line over 76 characters); a
    link's characters need no escaping (the tokens are base64url)."""
    return b"=\r\n".join(value[i:i + width] for i in range(0, len(value), width))


_ENVIRONMENTS: dict[Path, "Environment"] = {}


def environment(templates_dir: Path) -> "Environment":
    folder = Path(templates_dir) / "posts"
    if folder not in _ENVIRONMENTS:
        # Imported with the first message: a worker with no subscribers channel never loads it.
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        _ENVIRONMENTS[folder] = Environment(
            loader=FileSystemLoader(folder), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False))
    return _ENVIRONMENTS[folder]


@dataclass(frozen=True)
class Entry:
    """One announcement in a digest: its subject line, its text as the channel rendered it, its page."""

    subject: str
    text: str
    public_url: str


def digest(*, templates_dir: Path, entries: list[Entry], person: Person, sender: str, key: str, base_url: str,
           box: SubscriberBox, city: str) -> bytes:
    """A resident's daily digest: the day's announcements in one message, with their own links. Built
    for each resident (a digest goes once a day to each, so composing it whole costs little)."""
    env = environment(templates_dir)
    unsubscribe = links.unsubscribe_url(base_url, box, person)
    context = {"entries": entries, "city": city, "unsubscribe_url": unsubscribe,
               "manage_url": links.manage_url(base_url, box, person)}
    # Long lines allowed (998, SMTP's limit) so the unsubscribe header is not folded.
    message = EmailMessage(policy=SMTP.clone(max_line_length=998))
    message["Subject"] = env.get_template("subscribers_digest_subject.txt.j2").render(context).strip()
    message["From"] = sender
    message["To"] = person.email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{key}.{person.id}@{sender.rpartition('@')[2].strip('> ') or 'civicpost.invalid'}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = links.ONE_CLICK_BODY
    message.set_content(env.get_template("subscribers_digest.txt.j2").render(context).strip() + "\n")
    message.add_alternative(env.get_template("subscribers_digest.html.j2").render(context), subtype="html")
    return message.as_bytes()

"""The confirmation mail of a sign-up (double opt-in), sent after the commit.

Words from templates/subscribers/confirm.txt.j2 (first line `Subject: ...`). The address is
never logged: a failure names only the subscriber's id.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from civicpost.config import Settings

log = logging.getLogger(__name__)

# A List-Unsubscribe address is longer than 78 characters; folded onto a continuation line it is still
# valid, but some mail programs then miss it. 998 is SMTP's own limit.
ONE_LINE_HEADERS = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Confirmation:
    subscriber_id: int
    to: str
    topics: list[str]
    confirm_url: str
    manage_url: str
    unsubscribe_headers: dict[str, str]


def build(settings: Settings, confirmation: Confirmation) -> EmailMessage:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(settings.templates_dir / "subscribers"), autoescape=False,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    words = env.get_template("confirm.txt.j2").render(
        city_name=settings.city_name, topics=confirmation.topics, confirm_url=confirmation.confirm_url,
        manage_url=confirmation.manage_url)
    first, _, text = words.partition("\n")
    mail = EmailMessage(policy=ONE_LINE_HEADERS)
    mail["Subject"] = " ".join(first.removeprefix("Subject:").split())[:200]
    mail["From"] = settings.smtp_from
    mail["To"] = confirmation.to
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2].strip("> ") or "civicpost.invalid")
    mail["Auto-Submitted"] = "auto-generated"
    for name, value in confirmation.unsubscribe_headers.items():
        mail[name] = value
    mail.set_content(text.lstrip("\n"))
    return mail


def send(settings: Settings, confirmation: Confirmation) -> bool:
    """Answers whether the mail server took it; a failure is logged without the address."""
    if not settings.smtp_host:
        log.info("no CIVICPOST_SMTP_HOST: the confirmation mail of subscriber %s was not sent",
                 confirmation.subscriber_id)
        return False
    mail = build(settings, confirmation)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.publish_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("the confirmation mail of subscriber %s was not sent (%s)", confirmation.subscriber_id,
                    type(exc).__name__)
        return False
    return True

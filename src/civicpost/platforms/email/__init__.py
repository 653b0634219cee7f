"""Email to a list address over SMTP (adapter.py): text and HTML parts, a
Message-ID from the delivery's key. An email cannot be looked up or unsent."""

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

from civicpost.media import NO_MEDIA_LIMITS
from civicpost.platforms.spec import Capabilities, Fields, LengthRule, Look, PlatformSpec, Secret, Text, field
from civicpost.text.lengths import Measure


def _address(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in value):
        raise ValueError(f"'{value}' is not an email address")
    return value


Address = Annotated[Text, AfterValidator(_address)]


class EmailCredentials(Fields):
    username: Secret | None = field("SMTP user name", default=None)
    password: Secret | None = field("SMTP password", default=None)


class EmailSettings(Fields):
    smtp_host: Text = field("SMTP server")
    smtp_port: int | None = field("SMTP port", kind="number", default=None, ge=1, le=65_535,
                                  hint="Leave empty for 587.")
    starttls: bool | None = field("Use STARTTLS", kind="yesno", default=None)
    from_: Address = field("From address", kind="email", alias="from")
    to: list[Address] = field("To addresses", kind="list", min_length=1, max_length=100,
                              hint="One or more, separated by commas or new lines.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(len(text), None)  # an inbox takes any length

def _look(settings: Mapping[str, Any]) -> Look:
    return Look(handle=settings.get("from") or None)


SPEC = PlatformSpec(
    name="email",
    label="Email",
    form_label="Email list (SMTP)",
    adapter="civicpost.platforms.email.adapter:EmailAdapter",
    credentials=EmailCredentials,
    settings=EmailSettings,
    length=LengthRule(_measure),
    media=NO_MEDIA_LIMITS,
    capabilities=Capabilities(thread=False, delete=False, find=False, metrics=False, alt_text=False),
    outbound_urls=(),
    outbound_host=("smtp_host", "smtp_port"),
    profile=None,
    look=_look,
    sandbox=None,
    extras={"subject": "email_subject.txt.j2", "html": "email.html.j2"},
    where_to_look="the mailing list's archive or a recipient's inbox",
)

"""Residents who subscribed (SPEC §8.7): an approved announcement goes to every confirmed subscriber
of the channel's topics, one message each. The engine hands such a delivery to the fan-out
(civicpost.fanout), which sends through the city's mail server (CIVICPOST_SMTP_*); the adapter is
never asked to publish.
"""

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator

from civicpost.media import NO_MEDIA_LIMITS
from civicpost.platforms.email import Address
from civicpost.platforms.spec import Capabilities, Fields, LengthRule, Look, PlatformSpec, field
from civicpost.text.lengths import Measure

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"'{value[:70]}' is not a topic's slug: lower-case letters, digits and '-', 1 to 64")
    return value


class SubscribersCredentials(Fields):
    pass


class SubscribersSettings(Fields):
    topics: list[Annotated[str, AfterValidator(_slug)]] | None = field(
        "Topics", kind="list", default=None, max_length=50,
        hint="Slugs of the topics whose subscribers receive it; leave empty for the department's own topic.")
    mode: Literal["immediate", "digest"] | None = field(
        "When to send", default=None,
        hint="immediate (default) or digest; emergencies always go at once.")
    sms: bool | None = field("Send texts too", kind="yesno", default=None,
                             hint="Also text residents who gave a mobile number (the city's SMS account, "
                                  "CIVICPOST_SMS_*).")
    from_: Address | None = field("From address", kind="email", alias="from", default=None,
                                  hint="Leave empty for CIVICPOST_SMTP_FROM.")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(len(text), None)  # an inbox takes any length


def _look(settings: Mapping[str, Any]) -> Look:
    return Look(handle=settings.get("from") or None)


SPEC = PlatformSpec(
    name="subscribers",
    label="Subscribers",
    form_label="Residents who subscribed (email)",
    adapter="civicpost.platforms.subscribers.adapter:SubscribersAdapter",
    credentials=SubscribersCredentials,
    settings=SubscribersSettings,
    length=LengthRule(_measure),
    media=NO_MEDIA_LIMITS,
    capabilities=Capabilities(thread=False, delete=False, find=False, metrics=False, alt_text=False, fanout=True),
    outbound_urls=(),
    profile=None,
    look=_look,
    sandbox=None,
    extras={"subject": "subscribers_email_subject.txt.j2", "html": "subscribers_email.html.j2",
            "sms": "subscribers_sms.txt.j2"},
    where_to_look="the counts on the announcement's page (sent, failed, pending)",
)

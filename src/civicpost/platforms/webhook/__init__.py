"""A signed JSON POST to any receiver (adapter.py says the convention)."""

from collections.abc import Mapping
from typing import Any

from civicpost.media import NO_MEDIA_LIMITS
from civicpost.platforms.spec import Capabilities, Fields, HttpUrl, LengthRule, PlatformSpec, Secret, field
from civicpost.text.lengths import Measure


class WebhookCredentials(Fields):
    secret: Secret = field("Signing secret", hint="The receiver checks the HMAC-SHA256 signature with it.")


class WebhookSettings(Fields):
    url: HttpUrl = field("Receiver address", kind="url")


def _measure(text: str, settings: Mapping[str, Any]) -> Measure:
    return Measure(len(text), None)


SPEC = PlatformSpec(
    name="webhook",
    label="Webhook",
    form_label="Webhook",
    adapter="civicpost.platforms.webhook.adapter:WebhookAdapter",
    credentials=WebhookCredentials,
    settings=WebhookSettings,
    length=LengthRule(_measure),
    media=NO_MEDIA_LIMITS,
    # Receivers deduplicate on Idempotency-Key: an unclear send is sent again, not looked up.
    capabilities=Capabilities(thread=False, delete=True, find=False, metrics=False, alt_text=False,
                              resend_when_unclear=True),
    outbound_urls=("url",),
    profile=None,
    sandbox=None,
    lint_wording=True,
    where_to_look="the receiving system",  # the text is JSON for machines; people read its title and body
)

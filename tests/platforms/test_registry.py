"""Every platform is one spec, found by the registry; a spec that lacks a part fails here."""

import inspect

import pytest
from pydantic import BaseModel

from civicpost import PROJECT_ROOT
from civicpost.platforms import PLATFORMS, SPECS, UnknownPlatform, build_adapter, checked_fields, spec, where
from civicpost.platforms.feed.adapter import FeedAdapter
from civicpost.platforms.registry import adapter_class
from civicpost.platforms.spec import Fields
from civicpost.sandbox import fake_classes
from civicpost.text.lengths import Measure
from tests.factories import OUTGOING_KEY as KEY
from tests.factories import make_outgoing

from .recorded import RECORDED

POSTS = PROJECT_ROOT / "templates" / "posts"


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_build_adapter_makes_each_platform_adapter_without_touching_the_network(
    platform: str, request: pytest.FixtureRequest,
) -> None:
    recorded = RECORDED[platform]
    channel = recorded(**{name: request.getfixturevalue(name) for name in recorded.fixtures}).channel()
    credentials, settings = checked_fields(platform, *channel)  # as a city's channel is stored
    adapter = build_adapter(platform, credentials, settings, timeout=3, allow_private_network=True)
    assert type(adapter).__module__ == f"civicpost.platforms.{platform}.adapter"


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(UnknownPlatform):
        build_adapter("myspace", {}, {}, timeout=3, allow_private_network=True)


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_registered_spec_has_every_part(platform: str) -> None:
    chosen = spec(platform)
    assert (POSTS / chosen.template).is_file(), f"templates/posts/{chosen.template} is missing"
    for template in chosen.extras.values():
        assert (POSTS / template).is_file(), f"templates/posts/{template} is missing"
    adapter = adapter_class(chosen)
    for method in ("publish", "delete", "find", "check"):
        assert callable(getattr(adapter, method, None)), f"{adapter.__name__} lacks {method}()"
    assert list(inspect.signature(adapter).parameters)[:2] == ["credentials", "settings"]
    for model in (chosen.credentials, chosen.settings):
        assert issubclass(model, Fields) and issubclass(model, BaseModel)
        for name, info in model.model_fields.items():
            assert info.title, f"{model.__name__}.{name} has no label for the admin form"
    assert isinstance(chosen.measure("Pool opens Saturday"), Measure)
    assert chosen.label and chosen.form_label
    assert platform in RECORDED, f"tests/platforms/recorded/{platform}.py is missing (see its README.md)"
    if chosen.sandbox is not None:
        assert any(platform in fake.plays for fake in fake_classes()), f"no sandbox fake plays {platform}"
        chosen.credentials.model_validate(chosen.sandbox.credentials("parks"))
        chosen.settings.model_validate(chosen.sandbox.settings("http://127.0.0.1:8025"))


def test_every_sandbox_fake_plays_a_registered_platform() -> None:
    for fake in fake_classes():
        assert set(fake.plays) <= PLATFORMS, fake.__name__


def test_capabilities_are_read_from_the_specs() -> None:
    deletable = {"x", "facebook", "mastodon", "bluesky", "threads", "linkedin", "telegram", "webhook", "feed"}
    assert deletable <= where(lambda s: s.capabilities.delete)
    assert not {"email", "instagram"} & where(lambda s: s.capabilities.delete)  # Instagram's API cannot delete
    assert not {"email", "webhook", "telegram"} & where(lambda s: s.capabilities.find)  # none can ask for a post
    assert where(lambda s: s.capabilities.city_site) == {"feed"}
    assert list(SPECS)[0] == "feed"


def test_the_feed_publishes_the_delivery_itself_and_always_finds_it() -> None:
    feed = FeedAdapter({}, {"url": "https://city.example/announcements"}, timeout=3)

    receipt = feed.publish(make_outgoing())

    assert (receipt.remote_id, receipt.remote_url) == (KEY, "https://city.example/announcements")
    assert feed.find(make_outgoing()) == receipt
    feed.delete(KEY)

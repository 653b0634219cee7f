"""The platforms' own client libraries, configured as civicpost configures them and aimed at the sandbox."""

import tweepy
from mastodon import Mastodon

from civicpost.sandbox.testing import point_tweepy_at


def mastodon_client(url: str, token: str = "user-token") -> Mastodon:
    return Mastodon(
        access_token=token,
        api_base_url=f"{url}/mastodon",
        mastodon_version="4.3.0",
        version_check_mode="created",
        ratelimit_method="throw",
        request_timeout=5,
    )


def x_client(url: str, *, consumer_key: str = "ck", access_token: str = "at") -> tweepy.Client:
    client = tweepy.Client(
        consumer_key=consumer_key, consumer_secret="cs", access_token=access_token, access_token_secret="ats"
    )
    point_tweepy_at(client, url, timeout=5)
    return client

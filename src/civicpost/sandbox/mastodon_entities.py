"""Mastodon's Account and Instance entities, as a 4.3 server sends them.

Kept apart from the routes because they are long and static; the fields
follow docs.joinmastodon.org/entities so Mastodon.py's typed entities fill
in (it parses `created_at` and reads `configuration.statuses.max_characters`).
"""

from __future__ import annotations

from typing import Any

ACCOUNT_ID = "109000000000000001"
_BASE = "https://sandbox.localhost"
_CREATED = "2024-01-15T00:00:00.000Z"
_MEDIA_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"]


def account_json(statuses_count: int, *, with_source: bool = False) -> dict[str, Any]:
    account: dict[str, Any] = {
        "id": ACCOUNT_ID,
        "username": "cityofsandbox",
        "acct": "cityofsandbox",
        "display_name": "City of Sandbox",
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": _CREATED,
        "note": "<p>Official announcements (civicpost sandbox).</p>",
        "url": f"{_BASE}/@cityofsandbox",
        "uri": f"{_BASE}/users/cityofsandbox",
        "avatar": f"{_BASE}/avatars/original/missing.png",
        "avatar_static": f"{_BASE}/avatars/original/missing.png",
        "header": f"{_BASE}/headers/original/missing.png",
        "header_static": f"{_BASE}/headers/original/missing.png",
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": statuses_count,
        "last_status_at": None,
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }
    if with_source:
        account["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "en",
            "note": "Official announcements (civicpost sandbox).",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": False,
            "discoverable": True,
            "indexable": True,
        }
        account["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return account


def _configuration(max_characters: int) -> dict[str, Any]:
    return {
        "statuses": {
            "max_characters": max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": _MEDIA_TYPES,
            "description_limit": 1500,
            "image_size_limit": 16777216,
            "image_matrix_limit": 33177600,
            "video_size_limit": 103809024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8294400,
        },
        "polls": {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2629746,
        },
    }


def instance_v2(max_characters: int) -> dict[str, Any]:
    configuration = _configuration(max_characters)
    configuration["urls"] = {"streaming": "wss://sandbox.localhost", "status": None}
    configuration["accounts"] = {"max_featured_tags": 10, "max_pinned_statuses": 5}
    configuration["translation"] = {"enabled": False}
    return {
        "domain": "sandbox.localhost",
        "title": "civicpost sandbox",
        "version": "4.3.0",
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A local stand-in for a Mastodon server.",
        "usage": {"users": {"active_month": 1}},
        "thumbnail": {"url": f"{_BASE}/packs/media/images/preview.png"},
        "icon": [],
        "languages": ["en"],
        "configuration": configuration,
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "api_versions": {"mastodon": 2},
        "contact": {"email": "sandbox@localhost", "account": None},
        "rules": [],
    }


def instance_v1(max_characters: int, status_count: int) -> dict[str, Any]:
    return {
        "uri": "sandbox.localhost",
        "title": "civicpost sandbox",
        "short_description": "A local stand-in for a Mastodon server.",
        "description": "A local stand-in for a Mastodon server.",
        "email": "sandbox@localhost",
        "version": "4.3.0",
        "urls": {"streaming_api": "wss://sandbox.localhost"},
        "stats": {"user_count": 1, "status_count": status_count, "domain_count": 1},
        "thumbnail": f"{_BASE}/packs/media/images/preview.png",
        "languages": ["en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": _configuration(max_characters),
        "contact_account": None,
        "rules": [],
    }

"""The record of an announcement under /api/v1: every version of what it said."""

from typing import Any

from fastapi import APIRouter

from civicpost.drafting import access, versions
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS)


class VersionOut(Shape):
    number: int
    created_at: Instant
    author: str | None  # the person's email; None for a change no person made
    author_name: str | None
    reason: str  # create or edit
    fingerprint: str  # what an approval of this version signed
    content: dict[str, Any]  # title, body, link, language, publish_at, emergency, alert, translations,
    # channels (with override_text), media (with alt_text) and every channel's rendition


@router.get("/announcements/{announcement_id}/versions", response_model=list[VersionOut])
@one_trip
def list_versions(announcement_id: IdPath, session: SessionDep, user: CurrentUser,
                  settings: SettingsDep) -> list[VersionOut]:
    """Every version of the announcement, the first first: nothing is overwritten."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    return [VersionOut(number=v.number, created_at=instant(v.created_at, settings.zone) or "",
                       author=v.author.email if v.author else None, author_name=v.author.name if v.author else None,
                       reason=v.reason, fingerprint=v.fingerprint, content=v.content)
            for v in versions.of(session, announcement.id)]

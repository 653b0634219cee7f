"""An alert's follow-ups under /api/v1: an update, the all-clear, and the city's wording of them."""

from typing import Annotated, Any

from fastapi import APIRouter, Body

from civicpost import alert_wording
from civicpost.drafting import access, follow_ups, previews, workflow
from civicpost.follow_up_schemas import AlertUpdateIn, AlertWordingIn, AlertWordingOut, AllClearIn
from civicpost.web import views
from civicpost.web.deps import AdminUser, CurrentUser, RendererDep, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, AnnouncementOut

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


def _shown(session, follow_up, renderer, settings) -> dict[str, Any]:
    shown = previews.of_announcement(renderer, follow_up)
    return views.announcement(follow_up, settings.zone, renditions=shown.renditions,
                              deliveries=workflow.deliveries_of(session, follow_up), fingerprint=shown.fingerprint)


@router.post("/announcements/{announcement_id}/alert-update", status_code=201, response_model=AnnouncementOut)
@one_trip
def alert_update(announcement_id: IdPath, body: AlertUpdateIn, session: SessionDep, user: CurrentUser,
                 settings: SettingsDep, renderer: RendererDep) -> dict[str, Any]:
    """Post an "UPDATE:" follow-up of a published alert to every channel it went out on, at once; its CAP
    document is an Update referencing the earlier messages. Answers with the follow-up (a new announcement)."""
    alert = access.get_visible(session, announcement_id, viewer=user)
    changes = body.alert.changes() if body.alert else {}
    follow_up = follow_ups.post_update(session, actor=user, alert=alert, body=body.body, changes=changes,
                                       renderer=renderer, translations=body.translations)
    return _shown(session, follow_up, renderer, settings)


@router.post("/announcements/{announcement_id}/all-clear", status_code=201, response_model=AnnouncementOut)
@one_trip
def all_clear(announcement_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep,
              renderer: RendererDep, body: Annotated[AllClearIn | None, Body()] = None) -> dict[str, Any]:
    """Post "ALL CLEAR" to every channel the alert went out on and end the alert; its CAP document is an Update
    with responseType AllClear. Answers with the follow-up (a new announcement)."""
    alert = access.get_visible(session, announcement_id, viewer=user)
    follow_up = follow_ups.all_clear(session, actor=user, alert=alert, body=body.body if body else None,
                                     renderer=renderer, translations=body.translations if body else None)
    return _shown(session, follow_up, renderer, settings)


def _wording(session) -> dict[str, Any]:
    return {"languages": alert_wording.effective(session),
            "placeholders": {kind: list(names) for kind, names in alert_wording.PLACEHOLDERS.items()}}


@router.get("/alert-wording", response_model=AlertWordingOut)
@one_trip
def get_wording(session: SessionDep, _: CurrentUser) -> dict[str, Any]:
    """How follow-ups of an alert are worded, per language (English completes every other language)."""
    return _wording(session)


@router.put("/alert-wording", response_model=AlertWordingOut)
@one_trip
def put_wording(body: AlertWordingIn, session: SessionDep, admin: AdminUser) -> dict[str, Any]:
    """Replace the city's wording of follow-ups (admins); an unknown {placeholder} is refused, naming it."""
    alert_wording.save(session, body.wording(), actor=admin)
    return _wording(session)

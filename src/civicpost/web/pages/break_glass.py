"""The break-glass forms on an announcement's page: publish now (an emergency publisher) and sign off (an approver)."""

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response

from civicpost.drafting import break_glass
from civicpost.web.deps import SessionDep
from civicpost.web.pages.announcements import PostedForm, act, viewable
from civicpost.web.pages.common import Csrf, StaffUser

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.post("/announcements/{announcement_id:id}/publish-now", dependencies=[Csrf])
def publish_now(announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
                posted: PostedForm) -> Response:
    a = viewable(session, user, announcement_id)
    reason = posted.get("reason")
    step = partial(break_glass.publish_now, session, actor=user, announcement=a, renderer=request.app.state.renderer,
                   reason=reason if isinstance(reason, str) else "",
                   review_hours=request.app.state.settings.emergency_review_hours,
                   suspend_department=posted.get("suspend_department") == "yes")
    paused = " The department's other scheduled posts are paused." if posted.get("suspend_department") == "yes" else ""
    return act(request, session, a, step, "Published now (break glass): every channel is due at once. "
                                          "An approver must sign it off." + paused)


@router.post("/announcements/{announcement_id:id}/review", dependencies=[Csrf])
def review(announcement_id: int, request: Request, session: SessionDep, user: StaffUser,
           posted: PostedForm) -> Response:
    a = viewable(session, user, announcement_id)
    note = posted.get("note")
    step = partial(break_glass.review, session, actor=user, announcement=a,
                   note=note if isinstance(note, str) else None)
    return act(request, session, a, step, "Signed off. The break-glass publish is reviewed.")

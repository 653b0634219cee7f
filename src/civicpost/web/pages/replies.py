"""Hiding or removing a resident's reply from the staff announcement page, with a reason.

The platform is asked with no transaction open: read and check, ask, then keep."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from civicpost.db import utcnow
from civicpost.errors import ServiceError
from civicpost.models import User
from civicpost.replies import moderation
from civicpost.replies.moderation import Action
from civicpost.web.deps import request_transaction
from civicpost.web.pages.announcements import PostedForm
from civicpost.web.pages.common import Csrf, flash, redirect, sentence, staff_user

router = APIRouter(prefix="/staff", include_in_schema=False)

DONE_WORDS = {"hide": "Hidden on the platform", "remove": "Removed from the platform"}


@router.post("/replies/{reply_id:id}/moderate", dependencies=[Csrf])
def moderate(reply_id: int, request: Request, posted: PostedForm) -> Response:
    state = request.app.state
    chosen = posted.get("action")
    action: Action = "remove" if chosen == "remove" else "hide"
    typed = posted.get("reason")
    reason = typed if isinstance(typed, str) else ""
    with request_transaction(request, write=False) as session:
        user = staff_user(request, session)
        reply = moderation.visible(session, reply_id, viewer=user)  # another department's: 404
        back = f"/staff/announcements/{reply.announcement_id}#reply-{reply.id}"
        try:
            prepared = moderation.prepare(session, reply_id, actor=user, action=action, reason=reason)
        except ServiceError as exc:
            flash(request, sentence(exc.detail) + ".", "error")
            return redirect(back)
        actor_id = user.id
    try:
        moderation.ask(state.box, prepared, action, timeout=state.settings.publish_timeout_seconds,
                       allow_private_network=state.settings.allow_private_network)
    except ServiceError as exc:
        flash(request, sentence(exc.detail) + ". The reply was left as it was.", "error")
        return redirect(back)
    with request_transaction(request, write=True) as session:
        actor = session.get(User, actor_id)
        assert actor is not None
        moderation.keep(session, reply_id, actor=actor, action=action, reason=reason, now=utcnow())
    flash(request, f"{DONE_WORDS[action]}, with your reason kept in the record.")
    return redirect(back)

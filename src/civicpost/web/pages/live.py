"""Parts of staff pages that follow deliveries as they move, without a reload.

Each live part is a section rendered by the page and, alone, by a route here;
static/live.js fetches the route while the part has work in flight, with the
ETag of what it shows, and swaps the section only when it changed (a 304
otherwise). Without JavaScript the page shows the same on every reload.
"""

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from civicpost.drafting import access, workflow
from civicpost.fanout import queue as fanout
from civicpost.links import http_url
from civicpost.models import Announcement, DeliveryStatus, State, User
from civicpost.platforms import SPECS
from civicpost.web.deps import SessionDep
from civicpost.web.pages.common import StaffUser, csrf_token

router = APIRouter(prefix="/staff", include_in_schema=False)

RETRACTABLE = (State.publishing, State.published, State.failed)
RETRYABLE = (DeliveryStatus.failed, DeliveryStatus.unknown)
# Deliveries in these still move by themselves (the worker has them, or will).
MOVING = (DeliveryStatus.pending, DeliveryStatus.retrying, DeliveryStatus.sending)


def deliveries_part(request: Request, session: Session, user: User, announcement: Announcement) -> dict[str, Any]:
    """What staff/_deliveries.html shows of one announcement."""
    deliveries = workflow.deliveries_of(session, announcement)
    return {
        "a": announcement,
        "deliveries": deliveries,
        # Only an http(s) address becomes a link, whatever an old row holds.
        "post_url": http_url,
        "platform_name": lambda platform: SPECS[platform].label if platform in SPECS else platform,
        "retryable": RETRYABLE,
        # A retracted announcement's deliveries are never sent again.
        "can_retry": user.can_approve and announcement.state in RETRACTABLE,
        "live_open": any(d.status in MOVING or d.retract_requested_at is not None for d in deliveries),
        "live_summary": summary("Deliveries now", [str(d.status) for d in deliveries]),
        # Residents' messages of `subscribers` channels (sent, failed, pending), as the fan-out goes.
        "residents": fanout.counts(session, announcement.id) if _fans_out(deliveries) else None,
    }


def _fans_out(deliveries: list) -> bool:
    return any(SPECS[d.channel.platform].capabilities.fanout for d in deliveries if d.channel.platform in SPECS)


def summary(lead: str, words: list[str]) -> str:
    """'Deliveries now: 2 published, 1 retrying.' (each word counted, in first-seen order)."""
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return f"{lead}: {', '.join(f'{n} {word}' for word, n in counts.items())}." if counts else ""


@router.get("/announcements/{announcement_id:id}/deliveries", response_class=HTMLResponse)
def deliveries(announcement_id: int, request: Request, session: SessionDep, user: StaffUser) -> Response:
    announcement = access.get(session, announcement_id)
    access.ensure_can_view(user, announcement)
    context = {**deliveries_part(request, session, user, announcement), "csrf_token": csrf_token(request)}
    return fragment(request, "staff/_deliveries.html", context)


def fragment(request: Request, template: str, context: dict[str, Any]) -> Response:
    """A part of a page alone, tagged by its content: 304 when the browser has it already.
    Unlike a page, it leaves waiting flash messages for the next page."""
    body = request.app.state.pages.get_template(template).render(context).encode()
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": tag}  # staff pages are never stored (web/headers.py); live.js sends the tag itself
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, headers=headers)

"""Residents' replies under /api/v1: what they said to each post, and hiding or removing one with a reason."""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy.orm import Session

from civicpost.config import Settings
from civicpost.db import utcnow
from civicpost.drafting import access
from civicpost.models import Channel, Reply, User
from civicpost.replies import listing, moderation
from civicpost.replies.moderation import Action
from civicpost.schemas import Strict
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, in_request_thread, one_trip
from civicpost.web.params import IdPath
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class ReplyOut(Shape):
    id: int
    delivery_id: int
    platform: str
    channel_id: int
    channel: str  # the channel's name
    remote_id: str
    author_handle: str
    author_name: str
    created_at: Instant | None
    text: str
    url: str | None
    first_seen_at: Instant
    last_seen_at: Instant  # when a reading last found it
    hidden_at: Instant | None
    hidden_by: str | None  # the person's email
    hide_reason: str | None
    removed_at: Instant | None
    removed_by: str | None
    remove_reason: str | None


class PostOut(Shape):
    delivery_id: int
    channel_id: int
    channel: str
    platform: str
    can_hide: bool
    can_remove: bool
    note: str  # why civicpost cannot hide or remove replies there, when it cannot
    replies_unreadable: str | None  # the platform's refusal to let the account read replies, in its words
    remote_deleted_at: Instant | None  # when civicpost noticed the post was deleted on the platform


class RepliesOut(Shape):
    items: list[ReplyOut]
    posts: list[PostOut]


class ReasonIn(Strict):
    reason: str = Field(max_length=moderation.MAX_REASON, description="why; kept with the reply and audited")


def _out(reply: Reply, channel: str, settings: Settings, who: dict[int, User]) -> ReplyOut:
    def email(user_id: int | None) -> str | None:
        return who[user_id].email if user_id is not None and user_id in who else None

    zone = settings.zone
    return ReplyOut(id=reply.id, delivery_id=reply.delivery_id, platform=reply.platform, channel_id=reply.channel_id,
                    channel=channel, remote_id=reply.remote_id, author_handle=reply.author_handle,
                    author_name=reply.author_name, created_at=instant(reply.created_at, zone), text=reply.text,
                    url=reply.url, first_seen_at=instant(reply.first_seen_at, zone) or "",
                    last_seen_at=instant(reply.last_seen_at, zone) or "",
                    hidden_at=instant(reply.hidden_at, zone), hidden_by=email(reply.hidden_by),
                    hide_reason=reply.hide_reason, removed_at=instant(reply.removed_at, zone),
                    removed_by=email(reply.removed_by), remove_reason=reply.remove_reason)


@router.get("/announcements/{announcement_id}/replies", response_model=RepliesOut)
@one_trip
def list_replies(announcement_id: IdPath, session: SessionDep, user: CurrentUser,
                 settings: SettingsDep) -> RepliesOut:
    """Residents' replies to the announcement's posts, by channel, oldest first, with what was hidden or
    removed, by whom and why; `posts` says per post what civicpost can do there."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    listed = listing.of_announcement(session, announcement)
    return RepliesOut(
        items=[_out(reply, group.channel.name, settings, listed.people) for group, reply in listed.replies],
        posts=[PostOut(delivery_id=g.delivery.id, channel_id=g.channel.id, channel=g.channel.name,
                       platform=g.channel.platform, can_hide=g.can_hide, can_remove=g.can_remove, note=g.note,
                       replies_unreadable=g.channel.replies_unreadable,
                       remote_deleted_at=instant(g.remote_deleted_at, settings.zone)) for g in listed.groups])


async def moderate(request: Request, reply_id: int, reason: str, action: Action) -> ReplyOut:
    """Check and read, ask the platform with no transaction open, then keep it (audited)."""
    settings: Settings = request.app.state.settings
    prepared = await in_request_thread(
        request, lambda session, user: moderation.prepare(session, reply_id, actor=user, action=action,
                                                          reason=reason), write=False)
    await run_in_threadpool(moderation.ask, request.app.state.box, prepared, action,
                            timeout=settings.publish_timeout_seconds,
                            allow_private_network=settings.allow_private_network)

    def keep(session: Session, user: User) -> ReplyOut:
        reply = moderation.keep(session, reply_id, actor=user, action=action, reason=reason, now=utcnow())
        channel = session.get(Channel, reply.channel_id)
        return _out(reply, channel.name if channel else "", settings, {user.id: user})

    out: ReplyOut = await in_request_thread(request, keep, write=True)
    return out


@router.post("/replies/{reply_id}/hide", response_model=ReplyOut)
async def hide_reply(reply_id: IdPath, body: ReasonIn, request: Request) -> ReplyOut:
    """Hide the reply on its platform (Facebook; X with an OAuth 2.0 channel), with a reason kept and audited.
    Approvers and administrators; Mastodon and Bluesky do not let an account hide other people's replies."""
    return await moderate(request, reply_id, body.reason, "hide")


@router.post("/replies/{reply_id}/remove", response_model=ReplyOut)
async def remove_reply(reply_id: IdPath, body: ReasonIn, request: Request) -> ReplyOut:
    """Delete the reply on its platform (Facebook), with a reason kept and audited; it stays in the record."""
    return await moderate(request, reply_id, body.reason, "remove")

"""Hiding or deleting a resident's reply on its platform, from civicpost, with a reason.

Three steps, as everything that calls a platform: check and read in one short
transaction (`prepare`), ask the platform with no transaction open (`ask`),
then keep what was done, by whom, when and why, with its audit event (`keep`).
Approvers and administrators only; a reply stays in the record whatever
happens to it on the platform.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.drafting import access
from civicpost.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from civicpost.models import Channel, Reply, User
from civicpost.platforms import PlatformError, ReplyModeration, TransientError, build_adapter, spec
from civicpost.security import CredentialBox, CredentialsUnreadable

Action = Literal["hide", "remove"]
MAX_REASON = 1000
DONE = {"hide": "hidden", "remove": "removed"}


class PlatformRefused(ServiceError):
    status = 502
    title = "The platform did not do it"


@dataclass(frozen=True)
class Prepared:
    reply_id: int
    remote_id: str
    platform: str
    sealed: bytes | None
    settings: dict[str, Any]


def reason_of(text: str | None, action: Action) -> str:
    said = (text or "").strip()
    if not said:
        raise Invalid(f"say why the reply is {DONE[action]}: a reason is required and kept in the record",
                      errors=[{"field": "reason", "message": "required"}])
    if len(said) > MAX_REASON or any(ord(c) < 32 and c not in "\n\t" for c in said):
        raise Invalid(f"the reason must be plain text of at most {MAX_REASON} characters",
                      errors=[{"field": "reason", "message": "too long or has control characters"}])
    return said


def visible(session: Session, reply_id: int, *, viewer: User) -> Reply:
    """The reply if `viewer` may see its announcement; otherwise the same 404 as for none."""
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise NotFound(f"no reply {reply_id}")
    try:
        access.get_visible(session, reply.announcement_id, viewer=viewer)
    except NotFound:
        raise NotFound(f"no reply {reply_id}") from None
    return reply


def prepare(session: Session, reply_id: int, *, actor: User, action: Action, reason: str | None) -> Prepared:
    reply = visible(session, reply_id, viewer=actor)
    if not actor.can_approve:
        raise Forbidden("only an approver or an administrator may hide or remove a resident's reply")
    reason_of(reason, action)
    capabilities = spec(reply.platform).capabilities
    if not (capabilities.hide_replies if action == "hide" else capabilities.remove_replies):
        verb = "hide" if action == "hide" else "delete"
        raise Conflict(f"{spec(reply.platform).label} does not let civicpost {verb} a reply. "
                       f"{capabilities.moderation_note}".strip())
    if reply.removed_at is not None:
        raise Conflict(f"this reply was removed already, on {reply.removed_at:%Y-%m-%d %H:%M} UTC")
    if action == "hide" and reply.hidden_at is not None:
        raise Conflict(f"this reply was hidden already, on {reply.hidden_at:%Y-%m-%d %H:%M} UTC")
    channel = session.scalar(select(Channel).where(Channel.id == reply.channel_id))
    assert channel is not None  # the reply's foreign key
    return Prepared(reply.id, reply.remote_id, reply.platform, channel.credentials_encrypted, dict(channel.settings))


def ask(box: CredentialBox, prepared: Prepared, action: Action, *, timeout: float,
        allow_private_network: bool) -> None:
    """The platform call, outside any transaction; its refusal in its own words."""
    label = spec(prepared.platform).label
    try:
        adapter = build_adapter(prepared.platform, box.open(prepared.sealed), prepared.settings, timeout=timeout,
                                allow_private_network=allow_private_network)
        if not isinstance(adapter, ReplyModeration):
            raise PlatformRefused(f"{label} does not let civicpost hide or remove replies")
        if action == "hide":
            adapter.hide_reply(prepared.remote_id)
        else:
            adapter.remove_reply(prepared.remote_id)
    except TransientError as exc:
        raise PlatformRefused(f"{label} could not be asked just now ({exc}); try again in a few minutes") from exc
    except (PlatformError, CredentialsUnreadable) as exc:
        raise PlatformRefused(f"{label} refused: {exc}") from exc


def keep(session: Session, reply_id: int, *, actor: User, action: Action, reason: str, now: datetime) -> Reply:
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise NotFound(f"no reply {reply_id}")
    said = reason_of(reason, action)
    if action == "hide":
        reply.hidden_at, reply.hidden_by, reply.hide_reason = now, actor.id, said
    else:
        reply.removed_at, reply.removed_by, reply.remove_reason = now, actor.id, said
    audit.record(session, actor=actor, action=f"reply.{action}", object_type="announcement",
                 object_id=reply.announcement_id,
                 detail={"reply_id": reply.id, "platform": reply.platform, "remote_id": reply.remote_id,
                         "author": reply.author_handle, "reason": said})
    return reply

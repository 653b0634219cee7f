"""An announcement's residents' replies as staff read them: by channel, with what civicpost did."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost.models import Announcement, Channel, Delivery, Reply, User
from civicpost.platforms import spec


@dataclass
class ChannelReplies:
    channel: Channel
    delivery: Delivery
    label: str
    can_hide: bool
    can_remove: bool
    note: str  # why civicpost cannot hide or remove there, in words
    replies: list[Reply] = field(default_factory=list)

    @property
    def remote_deleted_at(self) -> datetime | None:
        return self.delivery.remote_deleted_at


@dataclass
class Listed:
    groups: list[ChannelReplies]
    people: dict[int, User]  # who hid or removed, by id

    @property
    def replies(self) -> list[tuple[ChannelReplies, Reply]]:
        return [(group, reply) for group in self.groups for reply in group.replies]

    def who(self, user_id: int | None) -> User | None:
        return self.people.get(user_id) if user_id is not None else None


def of_announcement(session: Session, announcement: Announcement) -> Listed:
    """Every published post of the announcement on a channel whose replies can be read, each with its replies
    (oldest first), and the people who hid or removed any; the caller has checked the viewer may see it."""
    posts = session.execute(
        select(Delivery, Channel).join(Channel, Channel.id == Delivery.channel_id)
        .where(Delivery.announcement_id == announcement.id, Delivery.remote_id.is_not(None))
        .order_by(Channel.name, Delivery.id)).all()
    groups: dict[int, ChannelReplies] = {}
    for delivery, channel in posts:
        capabilities = spec(channel.platform).capabilities
        if not capabilities.replies:
            continue
        groups[delivery.id] = ChannelReplies(channel, delivery, spec(channel.platform).label,
                                             capabilities.hide_replies, capabilities.remove_replies,
                                             capabilities.moderation_note)
    replies = session.scalars(select(Reply).where(Reply.announcement_id == announcement.id)
                              .order_by(Reply.created_at, Reply.id)).all() if groups else []
    for reply in replies:
        if reply.delivery_id in groups:
            groups[reply.delivery_id].replies.append(reply)
    ids = {i for r in replies for i in (r.hidden_by, r.removed_by) if i is not None}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return Listed(list(groups.values()), people)

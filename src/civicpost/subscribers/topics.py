"""Topics: one per department (made with it, see models.subscriber) and those an admin adds."""

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from civicpost import audit
from civicpost.errors import Conflict
from civicpost.models import Department, Subscriber, Subscription, Topic, User


@dataclass(frozen=True)
class TopicCount:
    topic: Topic
    department: str | None
    subscribers: int  # everyone who chose it
    confirmed: int  # with an address or number that may receive


def listed(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.department_id.is_(None), Topic.name, Topic.slug)))


def by_slug(session: Session, slug: str) -> Topic | None:
    return session.scalar(select(Topic).where(Topic.slug == slug))


def create(session: Session, *, actor: User, slug: str, name: str, description: str) -> Topic:
    if by_slug(session, slug) is not None or session.scalar(select(Department.id).where(Department.slug == slug)):
        raise Conflict(f"a topic or department with slug '{slug}' already exists; choose another slug")
    topic = Topic(slug=slug, name=name, description=description)
    session.add(topic)
    session.flush()
    audit.record(session, actor=actor, action="topic.create", object_type="topic", object_id=topic.id,
                 detail={"slug": slug, "name": name})
    return topic


def counts(session: Session) -> list[TopicCount]:
    confirmed = or_(Subscriber.email_confirmed_at.is_not(None), Subscriber.phone_confirmed_at.is_not(None))
    rows = session.execute(
        select(Subscription.topic_id, func.count(), func.count().filter(confirmed))
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id).group_by(Subscription.topic_id)).all()
    by_topic = {topic_id: (everyone, sure) for topic_id, everyone, sure in rows}
    departments = {d_id: slug for d_id, slug in session.execute(select(Department.id, Department.slug))}
    return [TopicCount(t, departments.get(t.department_id) if t.department_id else None, *by_topic.get(t.id, (0, 0)))
            for t in listed(session)]

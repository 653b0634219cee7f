"""How one post did, under /api/v1 (SPEC §8.3): the counts its platform gave, as read."""

from fastapi import APIRouter
from sqlalchemy import select

from civicpost.drafting import access
from civicpost.errors import NotFound
from civicpost.models import Delivery, MetricSnapshot
from civicpost.web.deps import CurrentUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


class MetricOut(Shape):
    at: Instant
    name: str
    value: int


@router.get("/deliveries/{delivery_id}/metrics", response_model=list[MetricOut])
@one_trip
def delivery_metrics(delivery_id: IdPath, session: SessionDep, user: CurrentUser,
                     settings: SettingsDep) -> list[MetricOut]:
    """Every count read of the delivery's post (likes, reposts, replies, quotes, views, clicks, and a
    platform's own metrics by its names), oldest reading first; empty until the first reading."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not access.can_view(user, access.get(session, delivery.announcement_id)):
        raise NotFound(f"no delivery with id {delivery_id}")  # another department's answers the same
    rows = session.execute(select(MetricSnapshot.taken_at, MetricSnapshot.name, MetricSnapshot.value)
                           .where(MetricSnapshot.delivery_id == delivery.id)
                           .order_by(MetricSnapshot.taken_at, MetricSnapshot.name)).all()
    return [MetricOut(at=instant(taken_at, settings.zone) or "", name=name, value=value)
            for taken_at, name, value in rows]

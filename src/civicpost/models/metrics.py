"""What the platforms said of our posts after they went out (SPEC §8.3).

Four tables: the raw counts as read (`metric_snapshots`), the next reading
each published post is due (`metric_jobs`, leased like deliveries), the next
follower reading each channel is due (`metric_channels`, leased likewise),
and one summary row per post that the insights read (`post_engagement`), kept
current by the collector whenever it writes a post's snapshot.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base, UTCDateTime, utcnow

# SQLite numbers rows only for an INTEGER primary key; PostgreSQL gets a bigint.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# When a post's engagement is read, after it was published; `now` is an operator's reading
# (`civicpost insights collect --now`), `daily` a channel's followers.
STAGES = ("1h", "24h", "7d", "30d")
# The counts every platform's reading is mapped to; a platform's own metrics
# (Facebook Page insights) keep the name Meta gives them.
ENGAGEMENT = ("likes", "reposts", "replies", "quotes")
OTHER_COUNTS = ("views", "clicks", "followers")


class MetricSnapshot(Base):
    """One count read at one moment: a post's (delivery_id set) or a channel's followers (delivery_id empty)."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (
        Index("ix_metric_snapshots_delivery_id_taken_at", "delivery_id", "taken_at"),
        Index("ix_metric_snapshots_channel_id_name_taken_at", "channel_id", "name", "taken_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stage: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[int] = mapped_column(BigInteger)


class MetricJob(Base):
    """The next reading due for a published post. Claimed under a lease (as
    deliveries are) so that several workers never read the same batch; after
    the last stage the row is deleted."""

    __tablename__ = "metric_jobs"
    __table_args__ = (Index("ix_metric_jobs_due_at_channel_id", "due_at", "channel_id"),)

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    # Index into STAGES of the reading due next.
    stage: Mapped[int] = mapped_column(SmallInteger, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class MetricChannel(Base):
    """A channel's next follower reading (daily), leased as post readings are.
    `waiting_until` is a platform's 429: no reading of the channel before it."""

    __tablename__ = "metric_channels"
    __table_args__ = (Index("ix_metric_channels_due_at", "due_at"),)

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    waiting_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class PostEngagement(Base):
    """One published post's latest engagement, with what insights group by
    (department, platform, and the weekday and hour of publishing in the city's
    time zone), so a city's years of posts are summed without reading snapshots."""

    __tablename__ = "post_engagement"
    __table_args__ = (
        Index("ix_post_engagement_department_id_published_at", "department_id", "published_at"),
        Index("ix_post_engagement_platform_published_at", "platform", "published_at"),
        Index("ix_post_engagement_published_at", "published_at"),
        # The insights' top posts: read from the most engaging down until ten fall in the filter.
        Index("ix_post_engagement_engagement", "engagement", "published_at", "delivery_id"),
    )

    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # In the city's time zone; Monday is 0.
    weekday: Mapped[int] = mapped_column(SmallInteger)
    hour: Mapped[int] = mapped_column(SmallInteger)
    # likes + reposts + replies + quotes at the latest reading.
    engagement: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int | None] = mapped_column(BigInteger)
    clicks: Mapped[int | None] = mapped_column(BigInteger)
    # The channel's followers nearest the time of publishing, where the platform tells them.
    followers: Mapped[int | None] = mapped_column(BigInteger)
    # The latest stage read ("1h" ... "30d", or "now").
    stage: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InsightCount(Base):
    """How many posts of a department and platform, published in one hour of one
    week (the city's), fell in one bucket of engagement and one of engagement per
    follower (insights/sketch.py). Kept current with post_engagement in the same
    transaction (insights/rollup.py), so medians over whole weeks are read from
    counts instead of sorting every post."""

    __tablename__ = "insight_counts"
    __table_args__ = (Index("ix_insight_counts_week", "week"),)

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The Monday of the week of publishing, in the city's time zone.
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    follower_bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    posts: Mapped[int] = mapped_column(Integer, default=0)


class InsightWeekCount(Base):
    """insight_counts without the weekday and hour: posts of a department and
    platform in one week (the city's) per bucket of engagement and of engagement
    per follower. Kept current beside it (insights/rollup.py); the medians per
    department and platform, platform, week and overall are read from here, as
    a week holds far fewer of these rows than hours."""

    __tablename__ = "insight_week_counts"
    __table_args__ = (Index("ix_insight_week_counts_week", "week"),)

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    follower_bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    posts: Mapped[int] = mapped_column(Integer, default=0)


class InsightSlotCount(Base):
    """The city's posts (every department) per bucket, over a span of weeks:
    for the heat map, per weekday and hour; for the weekly trend (span 1 only),
    the whole week (weekday and hour -1). `platform` '' counts every platform.
    Spans are 1, 2, 4, ... weeks starting at a multiple of the span from a fixed
    Monday, so any run of whole weeks is a few spans (insights/blocks.py). The
    engagement buckets (kind 0) and per-follower buckets (kind 1) are counted
    apart: a heat-map hour then holds at most ~100 rows, however many posts."""

    __tablename__ = "insight_slot_counts"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    span: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    posts: Mapped[int] = mapped_column(Integer, default=0)

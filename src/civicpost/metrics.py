"""Prometheus metrics: queue state read from the database at scrape time (so
any web process tells the truth about every worker), plus this process's own
(publish timings, in engine/sending.py, when a worker runs in it)."""

from datetime import timedelta

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from civicpost import quiet
from civicpost.db import utcnow
from civicpost.models import Delivery, DeliveryStatus, WorkerHeartbeat

LAG_WINDOW = timedelta(minutes=15)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class QueueCollector(Collector):
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def collect(self):
        now = utcnow()
        with self.sessions() as session:
            counts = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
            lags = [
                (published - due).total_seconds()
                for due, published in session.execute(
                    select(Delivery.due_at, Delivery.published_at)
                    .where(Delivery.published_at >= now - LAG_WINDOW)
                    .order_by(Delivery.published_at.desc())
                    .limit(20_000)
                )
            ]
            oldest_due = session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(
                    Delivery.status.in_([DeliveryStatus.pending, DeliveryStatus.retrying]),
                    Delivery.next_attempt_at <= now,
                )
            )
            beats = session.execute(
                select(WorkerHeartbeat.name, WorkerHeartbeat.last_seen_at).where(WorkerHeartbeat.stopped_at.is_(None))
            ).all()
            channels = quiet.survey(session, now=now)
        deliveries = GaugeMetricFamily("civicpost_deliveries", "Deliveries by status", labels=["status"])
        for status in DeliveryStatus:
            deliveries.add_metric([status.value], counts.get(status.value, 0))
        yield deliveries
        lag = GaugeMetricFamily(
            "civicpost_delivery_lag_seconds", "Due time to published, over the last 15 minutes", labels=["quantile"]
        )
        for q in (0.5, 0.9, 0.99):
            lag.add_metric([str(q)], _quantile(lags, q) if lags else 0.0)
        yield lag
        yield GaugeMetricFamily(
            "civicpost_oldest_due_seconds", "How long the oldest due delivery has waited",
            value=(now - oldest_due).total_seconds() if oldest_due else 0.0,
        )
        seen = GaugeMetricFamily("civicpost_worker_seconds_since_checkin", "Per running worker", labels=["worker"])
        for name, last in beats:
            seen.add_metric([name], (now - last).total_seconds())
        yield seen
        silent = GaugeMetricFamily(
            "civicpost_channel_days_since_post",
            "Whole days since each active channel's last post (since it was added, if it never posted)",
            labels=["channel_id", "channel", "department", "platform", "stale"])
        for q in channels:
            silent.add_metric([str(q.channel_id), q.name, q.department, q.platform, str(q.stale).lower()], q.days)
        yield silent


def registry_for(sessions: sessionmaker) -> CollectorRegistry:
    from prometheus_client import REGISTRY

    registry = CollectorRegistry()
    registry.register(QueueCollector(sessions))
    registry.register(_Forward(REGISTRY))
    return registry


class _Forward(Collector):
    """This process's default registry (publish timings, Python process metrics)."""

    def __init__(self, source) -> None:
        self.source = source

    def collect(self):
        yield from self.source.collect()

"""Insights at city scale on PostgreSQL: the page and the API beside one hand-written query.

    python bench/insights.py [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                             [--announcements 200000] [--requests 60]

Seeds a scratch database (dropped afterwards) with published announcements,
three deliveries each, four metric snapshots per delivery and the
post_engagement rows the collector keeps, all with INSERT ... SELECT over
generate_series; then times GET /staff/insights and GET /api/v1/insights
in-process for one department and for the whole city (the default 26 weeks,
and a whole year), beside the same grouping-sets aggregate sent bare through
psycopg, and prints the EXPLAIN ANALYZE plans. Prints figures, not pass or fail.
"""

import argparse
import gc
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
from _dispatch_stack import scratch_postgres
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from civicpost import accounts, channels, migrate
from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker, transaction
from civicpost.insights import rollup
from civicpost.insights.filters import Filters
from civicpost.insights.summary import counts_queries, whole_weeks
from civicpost.models import Role
from civicpost.security import CredentialBox

DEPARTMENTS = 20
PLATFORMS = ("mastodon", "bluesky", "facebook")
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery staple"
ZONE = "America/New_York"
TODAY = datetime.now(UTC).date()


def seed(url: str, announcements: int) -> dict:
    engine = make_engine(url)
    migrate.upgrade_engine(engine)
    # The admin signs in with a password alone: with a second factor due, /staff/insights would answer
    # with the account page instead (and the page's figures would time that).
    settings = Settings(env="test", database_url=url, secret_key=SECRET, timezone=ZONE,
                        second_factor_required=False)
    box = CredentialBox(settings.fernet_key())
    with transaction(make_sessionmaker(engine)) as session:
        admin = accounts.create_user(session, actor=None, email="admin@city.example", name="Admin", role=Role.admin,
                                     departments=[], password=PASSWORD)
        for n in range(DEPARTMENTS):
            department = accounts.create_department(session, actor=None, slug=f"d{n}", name=f"Department {n}")
            for platform in PLATFORMS:
                channels.create_channel(session, actor=None, box=box, department=department, platform="feed",
                                        name=f"{department.name} on {platform}", language="en", credentials={},
                                        settings={})
        staff = accounts.create_user(session, actor=None, email="staff@city.example", name="Staff",
                                     role=Role.staff, departments=["d0"], password=PASSWORD)
        tokens = {"admin": accounts.create_token(session, user=admin),
                  "staff": accounts.create_token(session, user=staff)}
        author = admin.id
    started = time.perf_counter()
    with engine.begin() as c:
        # The channels stand for three platforms (made as feeds: no credentials needed).
        c.execute(text("UPDATE channels SET platform = split_part(name, ' on ', 2)"))
        c.execute(text("""
            INSERT INTO announcements (department_id, author_id, title, body, language, emergency, state, version,
                                       publish_at, approved_at, created_at, updated_at)
            SELECT d.id, :author, 'Announcement ' || g, 'Body of announcement ' || g, 'en', false, 'published', 1,
                   p, p, p, p
            FROM generate_series(1, :n) g
            JOIN departments d ON d.slug = 'd' || (g % :departments)
            CROSS JOIN LATERAL (SELECT now() - (g::float / :n) * interval '730 days' AS p) t
        """), {"author": author, "n": announcements, "departments": DEPARTMENTS})
        c.execute(text("""
            INSERT INTO deliveries (key, announcement_id, channel_id, status, fingerprint, rendition, attempts, due_at,
                                    next_attempt_at, published_at, reconcile, created_at, updated_at)
            SELECT gen_random_uuid()::text, a.id, ch.id, 'published', repeat('f', 64), '{}', 1, a.publish_at,
                   a.publish_at, a.publish_at + interval '1 minute', false, a.publish_at, a.publish_at
            FROM announcements a JOIN channels ch ON ch.department_id = a.department_id
        """))
        c.execute(text("""
            INSERT INTO metric_snapshots (channel_id, delivery_id, taken_at, stage, name, value)
            SELECT d.channel_id, d.id, d.published_at + s.after, s.stage, 'likes',
                   (hashtext(d.id::text) & 255) * s.share
            FROM deliveries d CROSS JOIN (VALUES ('1h', interval '1 hour', 1), ('24h', interval '1 day', 2),
                                                 ('7d', interval '7 days', 3), ('30d', interval '30 days', 4))
                 AS s(stage, after, share)
        """))
        c.execute(text("""
            INSERT INTO post_engagement (delivery_id, announcement_id, department_id, channel_id, platform,
                                         published_at, weekday, hour, engagement, views, clicks, followers, stage,
                                         updated_at)
            SELECT d.id, d.announcement_id, ch.department_id, d.channel_id, ch.platform, d.published_at,
                   (extract(isodow FROM timezone(:zone, d.published_at)) - 1)::int,
                   extract(hour FROM timezone(:zone, d.published_at))::int,
                   (hashtext(d.id::text) & 255) * 4, NULL, NULL, 5000 + ch.id * 10, '30d', now()
            FROM deliveries d JOIN channels ch ON ch.id = d.channel_id
        """), {"zone": ZONE})
    counted = time.perf_counter()
    with transaction(make_sessionmaker(engine)) as session:
        rollup.rebuild(session)
    print(f"counted post_engagement into insight_counts and insight_week_counts (civicpost insights rebuild) in "
          f"{time.perf_counter() - counted:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
                  ("announcements", "deliveries", "metric_snapshots", "post_engagement", "insight_counts",
                   "insight_week_counts")}
    engine.dispose()
    print(f"seeded {counts} in {time.perf_counter() - started:.0f} s")
    return {"tokens": tokens, "settings": settings}


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms"


def insights_page(client: TestClient, params: dict) -> None:
    answer = client.get("/staff/insights", params=params, follow_redirects=False).raise_for_status()
    assert answer.status_code == 200 and "<svg" in answer.text, f"not the insights page: {answer.status_code}"


class Collections:
    """The garbage collector's passes while it is installed: how many were full (generation 2) and the longest."""

    def __init__(self) -> None:
        self.full = 0
        self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        self.longest = max(self.longest, time.perf_counter() - self._began)
        self.full += info["generation"] == 2

    def __str__(self) -> str:
        return f"gc: {self.full} full, longest pause {self.longest * 1000:5.1f} ms"


def timed(call, requests: int, collections: Collections | None = None) -> list[float]:
    call()  # warm
    samples = []
    if collections is not None:
        gc.callbacks.append(collections)
    try:
        for _ in range(requests):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
    finally:
        if collections is not None:
            gc.callbacks.remove(collections)
    return samples


BARE = """
SELECT department_id, platform, weekday, hour, date_trunc('week', timezone(%(zone)s, published_at))::date,
       grouping(department_id, platform, weekday, hour, date_trunc('week', timezone(%(zone)s, published_at))::date),
       count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY engagement),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN followers > 0 THEN engagement::float8 / followers END)
FROM post_engagement
WHERE published_at >= %(start)s AND published_at < %(end)s {department}
GROUP BY GROUPING SETS ((department_id, platform), (platform), (weekday, hour),
                        (date_trunc('week', timezone(%(zone)s, published_at))::date), ())
"""


def counts_sql(params: dict, department_id: int) -> dict[str, str]:
    """The service's queries of the whole weeks' counts for one case, with their values written in."""
    last = date.fromisoformat(params.get("to", TODAY.isoformat()))
    first = date.fromisoformat(params.get("from", (last - timedelta(weeks=26, days=-1)).isoformat()))
    filters = Filters(department_ids=(department_id,) if "department" in params else None, platform=None,
                      first_day=first, last_day=last, start=datetime.now(UTC), end=datetime.now(UTC))
    weeks = whole_weeks(filters)
    assert weeks is not None
    return {name: str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            for name, query in counts_queries(filters, weeks).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--announcements", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--unfrozen", action="store_true",
                        help="make the app as a test does, start-up not frozen out of the collector (to compare)")
    args = parser.parse_args()
    with scratch_postgres(args.admin_url) as url:
        seeded = seed(url, args.announcements)
        from civicpost.web import create_app

        # As `civicpost serve` makes it: the start-up's objects frozen out of the collector's full passes.
        app = create_app(seeded["settings"], engine=make_engine(url), serving=not args.unfrozen)
        raw = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        year = {"from": (TODAY - timedelta(days=364)).isoformat(), "to": TODAY.isoformat()}
        cases = [("one department, 26 weeks", {"department": "d3"}), ("whole city, 26 weeks", {}),
                 ("one department, a year", {"department": "d3", **year}), ("whole city, a year", year)]
        with TestClient(app) as client, psycopg.connect(raw) as bare:
            page = client.get("/staff/login")
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post("/staff/login", data={"email": "admin@city.example", "password": PASSWORD,
                                              "csrf_token": token, "next": "/staff/"})
            auth = {"Authorization": f"Bearer {seeded['tokens']['admin']}"}
            department_id = bare.execute("SELECT id FROM departments WHERE slug = 'd3'").fetchone()[0]
            print(f"\n{'case':28} {'what':6} latency ({args.requests} requests, one at a time)")
            for name, params in cases:
                first = date.fromisoformat(params.get("from", (TODAY - timedelta(weeks=26, days=-1)).isoformat()))
                values = {"zone": ZONE, "start": datetime(first.year, first.month, first.day, tzinfo=UTC),
                          "end": datetime.now(UTC) + timedelta(days=1), "department": department_id}
                query = BARE.format(department="AND department_id = %(department)s" if "department" in params else "")
                for what, call in [
                    ("page", lambda p=params: insights_page(client, p)),
                    ("api", lambda p=params: client.get("/api/v1/insights", params=p, headers=auth).raise_for_status()),
                    ("bare", lambda q=query, v=values: bare.execute(q, v).fetchall()),
                ]:
                    collections = Collections()
                    print(f"{name:28} {what:6} {percentiles(timed(call, args.requests, collections))}   {collections}")
                plan = bare.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, values).fetchall()
                print(f"\nEXPLAIN ANALYZE, exact medians (the old reading), {name}:\n"
                      + "\n".join(row[0] for row in plan) + "\n")
                for which, sql in counts_sql(params, department_id).items():
                    plan = bare.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()
                    print(f"\nEXPLAIN ANALYZE, the whole weeks' counts, {which} (what the service reads), {name}:\n"
                          + "\n".join(row[0] for row in plan) + "\n")


if __name__ == "__main__":
    main()

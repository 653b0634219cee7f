"""What reading how posts did costs per snapshot batch, beside the bare HTTP calls.

    python bench/collect.py                       # 2,000 Mastodon posts on SQLite, 3 rounds
    python bench/collect.py --posts 500 --latency-ms 50
    python bench/collect.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/civicpost_bench

The sandbox runs in its own process (`civicpost sandbox`, optionally with added
latency). A scratch database holds one Mastodon channel and N published posts
that are really on the sandbox, all published two hours ago, so each round the
collector (civicpost.insights.collector, as the worker runs it) sweeps them,
claims them under a lease, reads them 20 statuses a call and writes snapshots,
summaries and the next stage. The baseline makes the same HTTP calls with a bare
httpx client and writes nothing. Rounds alternate, so a busy neighbour on the
machine hurts both. Prints figures and ratios, not pass or fail.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import delete

from civicpost import accounts, migrate
from civicpost.config import Settings
from civicpost.db import make_engine, make_sessionmaker, transaction, utcnow
from civicpost.insights.collector import Collector
from civicpost.models import (
    Announcement,
    Channel,
    Delivery,
    DeliveryStatus,
    MetricChannel,
    MetricJob,
    MetricSnapshot,
    PostEngagement,
    Role,
    State,
)
from civicpost.platforms import spec
from civicpost.security import CredentialBox

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
BATCH = spec("mastodon").metrics_batch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    binary = Path(sys.executable).parent / "civicpost"
    process = subprocess.Popen([str(binary), "sandbox", "--port", str(port), "--latency-ms", str(latency_ms)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_sandbox/faults", timeout=1)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the sandbox did not start")


def seed(sessions, settings: Settings, base: str, posts: int) -> list[str]:
    """A department, a Mastodon channel on the sandbox and `posts` published posts; their remote ids."""
    api = f"{base}/mastodon"
    with httpx.Client(base_url=api, headers={"Authorization": "Bearer sandbox"}, timeout=10) as http:
        remote_ids = [http.post("/api/v1/statuses", data={"status": f"Bench post {n}"}).json()["id"]
                      for n in range(posts)]
    box = CredentialBox(settings.fernet_key())
    published_at = utcnow() - timedelta(hours=2)
    with transaction(sessions) as session:
        department = accounts.create_department(session, actor=None, slug="parks", name="Parks")
        author = accounts.create_user(session, actor=None, email="bench@city.example", name="Bench",
                                      role=Role.staff, departments=["parks"], password="a long bench password")
        channel = Channel(department_id=department.id, platform="mastodon", name="Parks Mastodon",
                          credentials_encrypted=box.seal({"access_token": "sandbox"}), settings={"api_base": api})
        session.add(channel)
        session.flush()
        for remote_id in remote_ids:
            announcement = Announcement(department_id=department.id, author_id=author.id, title="Bench",
                                        body="Bench.", state=State.published, publish_at=published_at)
            session.add(announcement)
            session.flush()
            session.add(Delivery(key=str(uuid.uuid4()), announcement_id=announcement.id, channel_id=channel.id,
                                 status=DeliveryStatus.published, fingerprint="f" * 64, rendition={},
                                 due_at=published_at, next_attempt_at=published_at, published_at=published_at,
                                 remote_id=remote_id))
    return remote_ids


def forget_readings(sessions) -> None:
    with transaction(sessions) as session:
        for table in (MetricSnapshot, PostEngagement, MetricJob, MetricChannel):
            session.execute(delete(table))


def civicpost_round(settings: Settings, sessions) -> tuple[float, float, int]:
    forget_readings(sessions)
    collector = Collector(settings, sessions, name="bench")
    wall, cpu = time.perf_counter(), time.process_time()
    read = collector.run_once(now=utcnow())
    return time.perf_counter() - wall, time.process_time() - cpu, read


def bare_round(base: str, remote_ids: list[str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(base_url=f"{base}/mastodon", headers={"Authorization": "Bearer sandbox"}, timeout=10) as http:
        http.get("/api/v1/accounts/verify_credentials").raise_for_status()
        for start in range(0, len(remote_ids), BATCH):
            answer = http.get("/api/v1/statuses", params=[("id[]", i) for i in remote_ids[start:start + BATCH]])
            answer.raise_for_status()
            answer.json()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--database-url", default=None, help="an empty scratch database (default: SQLite in /tmp)")
    options = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="civicpost-bench-collect-")
    database_url = options.database_url or f"sqlite:///{scratch}/bench.db"
    os.environ.setdefault("CIVICPOST_TIMEZONE", "America/Chicago")
    settings = Settings(env="test", database_url=database_url, secret_key=SECRET, allow_private_network=True,
                        timezone="America/Chicago", media_dir=Path(scratch) / "media")
    engine = make_engine(database_url)
    migrate.upgrade_engine(engine)
    sessions = make_sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE") if settings.is_sqlite
                                 else engine)
    sandbox, base = start_sandbox(options.latency_ms)
    try:
        remote_ids = seed(sessions, settings, base, options.posts)
        batches = -(-len(remote_ids) // BATCH)
        ours, bare, cpu_ours, cpu_bare = [], [], [], []
        civicpost_round(settings, sessions)  # warm: imports, the adapter, the connection pool
        for _ in range(options.rounds):
            wall, cpu, read = civicpost_round(settings, sessions)
            assert read == len(remote_ids), f"read {read} of {len(remote_ids)}"
            ours.append(wall)
            cpu_ours.append(cpu)
            wall, cpu = bare_round(base, remote_ids)
            bare.append(wall)
            cpu_bare.append(cpu)
    finally:
        sandbox.terminate()
        sandbox.wait(10)
        engine.dispose()

    def per_batch(seconds: list[float]) -> float:
        return statistics.median(seconds) / batches * 1000

    print(f"collect: {len(remote_ids)} Mastodon posts, {batches} batches of {BATCH}, "
          f"{engine.dialect.name}, sandbox latency {options.latency_ms:g} ms, median of {options.rounds} rounds")
    print(f"  civicpost collector  {per_batch(ours):7.2f} ms a batch  ({per_batch(cpu_ours):6.2f} ms CPU)  "
          f"{statistics.median(ours):6.2f} s in all, {len(remote_ids) * 4 / statistics.median(ours):7.0f} "
          f"snapshots/s")
    print(f"  bare httpx calls     {per_batch(bare):7.2f} ms a batch  ({per_batch(cpu_bare):6.2f} ms CPU)")
    print(f"  ratio civicpost/bare {statistics.median(ours) / statistics.median(bare):7.2f}x wall, "
          f"{statistics.median(cpu_ours) / max(statistics.median(cpu_bare), 1e-9):5.2f}x CPU")


if __name__ == "__main__":
    main()

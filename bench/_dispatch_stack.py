"""The processes a dispatch run needs: the sandbox, `civicpost worker`s, a scratch PostgreSQL.

Every process started here is stopped by the context manager that started
it, by its own pid; a scratch database is dropped however the run ends.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _api_server import free_port
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent
# Fixed, so the bench process can encrypt the channels' credentials that the
# workers then decrypt; it protects nothing but sandbox placeholders.
SECRET_KEY = "dispatch-benchmark-key-not-a-secret-0123456789"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu(engine) -> dict[int, float]:
    """CPU so far of each PostgreSQL backend serving this database (the server is local)."""
    with engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        found = {}
        for pid in pids:
            try:
                found[pid] = cpu_seconds(pid)
            except (OSError, IndexError):
                continue
        return found


def backend_cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    # A backend that appeared meanwhile started from nothing; one that left is lost (rare: pools persist).
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def http_json(method: str, url: str, body: dict | None = None, timeout: float = 60) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _stop(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def sandbox_process(*, latency_ms: float, workdir: Path) -> Iterator[tuple[str, int]]:
    """`civicpost sandbox` in its own process; yields (base URL, pid)."""
    port = free_port()
    log = (workdir / "sandbox.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "civicpost"), "sandbox", "--port", str(port), "--latency-ms", str(latency_ms)],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited: {(workdir / 'sandbox.log').read_text()}")
            try:
                http_json("GET", f"{base}/_sandbox/health", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield base, process.pid
    finally:
        _stop(process)
        log.close()


class Workers:
    """N `civicpost worker` processes, started together and stopped together."""

    def __init__(self, *, database_url: str, workdir: Path, count: int, concurrency: int) -> None:
        """`concurrency` is the sends in flight of all the processes together (as
        the bare clients' requests in flight): each process gets its share."""
        concurrency = max(1, concurrency // count)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
        env.update(
            CIVICPOST_DATABASE_URL=database_url,
            CIVICPOST_SECRET_KEY=SECRET_KEY,
            CIVICPOST_ENV="test",
            CIVICPOST_ALLOW_PRIVATE_NETWORK="true",  # the sandbox listens on 127.0.0.1
            CIVICPOST_MEDIA_DIR=str(workdir / "media"),
            CIVICPOST_WORKER_CONCURRENCY=str(concurrency),
        )
        self.concurrency = concurrency
        self.processes: list[subprocess.Popen] = []
        self.logs = []
        for _ in range(count):
            log = (workdir / f"worker-{uuid.uuid4().hex[:8]}.log").open("w+")
            self.logs.append(log)
            self.processes.append(subprocess.Popen(
                [str(BIN / "civicpost"), "worker", "--concurrency", str(concurrency)],
                env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
            ))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def check_alive(self) -> None:
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                log.flush()
                log.seek(0)
                raise RuntimeError(f"a worker exited with {process.returncode}:\n{log.read()[-3000:]}")

    def rss_mb(self) -> list[float]:
        return [rss_mb(pid) for pid in self.pids]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def output_tail(self, chars: int = 2000) -> str:
        tails = []
        for log in self.logs:
            log.flush()
            log.seek(0)
            tails.append(log.read()[-chars:])
        return "\n".join(tails)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            _stop(process)
        for log in self.logs:
            log.close()


@contextmanager
def workers(**kwargs) -> Iterator[Workers]:
    started = Workers(**kwargs)
    try:
        yield started
    finally:
        started.stop()


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    name = f"civicpost_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

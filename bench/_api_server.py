"""Run an ASGI app under uvicorn in its own process, and read its memory."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Server:
    pid: int
    base_url: str
    log_path: Path
    workers: int = 1

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: the server itself, or uvicorn's worker processes."""
        if self.workers == 1:
            return [self.pid]
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            # fields[1] is the parent pid; multiprocessing's resource tracker is not a worker.
            if int(fields[1]) == self.pid and b"resource_tracker" not in cmdline:
                children.append(int(stat.parent.name))
        return sorted(children)

    def errors(self) -> Counter[str]:
        """The exception lines the server logged, counted: what a failed request hit."""
        found: Counter[str] = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if _EXCEPTION.match(line):
                found[line[:160]] += 1
        return found


# The last line of a traceback: "sqlalchemy.exc.TimeoutError: QueuePool limit ...".
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout)\b.*:")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(
    app: str, *, env: dict[str, str], workdir: Path, app_dir: Path | None = None, workers: int = 1,
    start_timeout: float = 30,
) -> Iterator[Server]:
    """`app` is a factory "module:function"; with one worker the pid is the server itself."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        # An access log line per request would measure the log pipe, not the app;
        # "info" logs only start-up lines (each worker says when it is ready).
        "--no-access-log", "--log-level", "info",
    ]
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    log_path = workdir / f"uvicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=workdir, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(process, f"{base_url}/healthz", log_path, start_timeout)
        server = Server(pid=process.pid, base_url=base_url, log_path=log_path, workers=workers)
        if workers > 1:
            _wait_workers(server, process, log_path, start_timeout)
        yield server
    finally:
        _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s:\n{log_path.read_text()}")


def _wait_workers(server: Server, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 30) -> None:
    """/healthz answers as soon as one worker is up; wait for them all (each logs its start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = log_path.read_text(errors="replace").count("Application startup complete")
        if len(server.serving_pids()) == server.workers and started >= server.workers:
            return
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        time.sleep(0.1)
    raise RuntimeError(f"{server.workers} workers did not start within {timeout:.0f}s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak resident) from /proc, in MB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found

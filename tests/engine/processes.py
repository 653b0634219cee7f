"""Real `civicpost worker` processes for crash, stop and scale-out tests."""

import os
import signal
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


class WorkerProcess:
    def __init__(self, *, database_url: str, secret_key: str, workdir: Path, concurrency: int = 4, **settings) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
        env.update(
            CIVICPOST_DATABASE_URL=database_url,
            CIVICPOST_SECRET_KEY=secret_key,
            CIVICPOST_ENV="test",
            CIVICPOST_MEDIA_DIR=str(workdir / "media"),
            CIVICPOST_ALLOW_PRIVATE_NETWORK="true",  # the receiver listens on 127.0.0.1
        )
        for key, value in settings.items():
            env[f"CIVICPOST_{key.upper()}"] = str(value)
        self.log = open(workdir / f"worker-{len(list(workdir.glob('worker-*.log')))}.log", "w+")
        self.process = subprocess.Popen(
            [str(BIN / "civicpost"), "worker", "--concurrency", str(concurrency)],
            env=env, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()

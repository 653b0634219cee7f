import pytest

from civicpost.engine.worker import Worker
from tests.engine.receiver import start_receiver


@pytest.fixture
def receiver():
    receiver, server = start_receiver("hook-secret-value")
    yield receiver
    server.shutdown()


@pytest.fixture
def fast_settings(settings):
    """Engine timings small enough for tests (the SPEC's settings say so)."""
    return settings.model_copy(
        update={"retry_base_seconds": 0.05, "retry_max_seconds": 0.2, "max_attempts": 3,
                "publish_timeout_seconds": 2, "lease_seconds": 3}
    )


@pytest.fixture
def worker_factory(fast_settings, engine):
    workers: list[Worker] = []

    def make(**kwargs) -> Worker:
        w = Worker(kwargs.pop("settings", fast_settings), engine=engine, concurrency=kwargs.pop("concurrency", 4), **kwargs)
        workers.append(w)
        return w

    yield make
    for w in workers:
        w.stop(timeout=10)

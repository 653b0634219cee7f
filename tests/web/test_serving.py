"""What a served process (`civicpost serve`) sets up once its start is over (civicpost.runtime)."""

import gc
import sys

from fastapi.testclient import TestClient

from civicpost import runtime
from civicpost.web import create_app


def test_a_served_process_hands_the_interpreter_over_within_a_millisecond(settings, engine):
    """bench/public.py: with Python's 5 ms, staff requests waited 5 ms behind a surge's renders after each
    database call (staff p99 8.2x the run without the surge; 4.3x at 1 ms)."""
    before = sys.getswitchinterval()
    try:
        with TestClient(create_app(settings, engine=engine)) as client:
            assert client.get("/healthz").status_code == 200
            assert sys.getswitchinterval() == before  # an app in a test (or beside a worker) leaves it alone
        with TestClient(create_app(settings, engine=engine, serving=True)) as client:
            assert client.get("/healthz").status_code == 200
            assert sys.getswitchinterval() == runtime.SWITCH_INTERVAL_SECONDS == 0.001
    finally:
        sys.setswitchinterval(before)
        gc.unfreeze()

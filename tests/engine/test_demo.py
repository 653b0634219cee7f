"""`civicpost demo`: a newcomer sees a post go from draft to four platforms, no credentials."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_demo_publishes_an_example_to_the_feed_and_four_sandbox_platforms(tmp_path):
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    log = open(tmp_path / "demo.log", "w+")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "civicpost"), "demo", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline and "example announcement is" not in text:
            time.sleep(0.5)
            text = (tmp_path / "demo.log").read_text()
        time.sleep(0.5)
        text = (tmp_path / "demo.log").read_text()
        assert "The example announcement is published" in text, text
        for platform in ("feed", "x", "facebook", "mastodon", "bluesky"):
            assert any(line.split()[:2] == [platform, "published"] for line in text.splitlines()), text
        timelines = httpx.get(f"http://127.0.0.1:{sandbox_port}/").text
        assert timelines.count("Elm Street pool opens Saturday") >= 4
        assert "Elm Street pool opens Saturday" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

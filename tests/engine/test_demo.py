"""`civicpost demo`: a newcomer sees a post go from draft to every platform the sandbox plays, no credentials."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from civicpost.platforms import SPECS

pytestmark = pytest.mark.slow

SANDBOXED = sorted(name for name, spec in SPECS.items() if spec.sandbox is not None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(tmp_path, *extra: str) -> tuple[str, int, int, subprocess.Popen, object]:
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPOST_")}
    log_path = tmp_path / f"demo-{len(list(tmp_path.glob('demo-*.log')))}.log"
    log = open(log_path, "w+")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "civicpost"), "demo", "--port", str(port), "--sandbox-port",
         str(sandbox_port), *extra],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    text = ""
    while time.monotonic() < deadline and "example announcement is" not in text and "not posted again" not in text:
        time.sleep(0.5)
        text = log_path.read_text()
    # The banner and the example's line can come before the web server listens (busy machines).
    until = time.monotonic() + 30
    while time.monotonic() < until:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    return log_path.read_text(), port, sandbox_port, process, log


def stop(process: subprocess.Popen, log) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def test_the_demo_publishes_an_example_to_the_feed_and_every_sandbox_platform_once_per_run(tmp_path):
    text, port, sandbox_port, process, log = run_demo(tmp_path)
    try:
        assert "The example announcement is published" in text, text
        assert {"x", "facebook", "instagram", "threads", "mastodon", "bluesky", "linkedin", "telegram"} <= set(SANDBOXED)
        for platform in ("feed", *SANDBOXED):
            assert any(line.split()[:2] == [platform, "published"] for line in text.splitlines()), text
        # The banner says who is who, with the password.
        for words in ("admin@demo.city", "approves for every department", "drafts for Parks and Recreation",
                      "civicpost-demo-password"):
            assert words in text, text
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        timelines = httpx.get(f"{sandbox}/").text
        assert timelines.count("Elm Street pool opens Saturday") >= len(SANDBOXED)
        # Residents who follow Parks by text got it through the sandbox's SMS provider.
        assert any(line.split()[:2] == ["subscribers", "published"] for line in text.splitlines()), text
        assert timelines.count("to …10") == 3, timelines
        assert "Elm Street pool opens Saturday" in httpx.get(f"http://127.0.0.1:{port}/").text
        # "View the post" on a sandbox channel opens the sandbox's own page of that post.
        links = [line.split()[2] for line in text.splitlines()
                 if line.split()[:1] in [[p] for p in SANDBOXED] and len(line.split()) > 2]
        assert len(links) == len(SANDBOXED), text
        for link in links:
            assert link.startswith(sandbox), link
            page = httpx.get(link)
            assert page.status_code == 200 and "Elm Street pool opens Saturday" in page.text, link
    finally:
        stop(process, log)

    again, port, _, process, log = run_demo(tmp_path)
    try:
        assert "started clean" in again and "The example announcement is published" in again, again
        assert httpx.get(f"http://127.0.0.1:{port}/").text.count("Elm Street pool opens Saturday") == 1
    finally:
        stop(process, log)

    kept, port, _, process, log = run_demo(tmp_path, "--keep")
    try:
        assert "not posted again" in kept, kept
        assert httpx.get(f"http://127.0.0.1:{port}/").text.count("Elm Street pool opens Saturday") == 1
    finally:
        stop(process, log)

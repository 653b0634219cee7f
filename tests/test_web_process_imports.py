"""A web process holds what its requests need: the sign-in libraries that only
passkeys and single sign-on use load when someone uses them (about 25 MB a
process, docs/benchmarks.md), so `civicpost serve --workers 2` fits its memory.
And it starts where setuptools no longer ships pkg_resources, which the
library behind X's lengths (twitter-text) imports."""

import os
import subprocess
import sys
from pathlib import Path

import twitter_text

# Loaded by civicpost.identity.passkeys, civicpost.identity.oidc and platforms.guarded_requests at first use.
LOADED_AT_FIRST_USE = ("webauthn", "authlib", "joserfc", "requests")
# setuptools' pkg_resources reads the metadata of every installed distribution as it is imported (4 MB).
NEVER_LOADED = ("pkg_resources",)

START = """
import sys
from civicpost import migrate
from civicpost.db import make_engine
from civicpost.web import create_app
from civicpost.config import get_settings

migrate.upgrade_engine(make_engine(get_settings().database_url))
app = create_app()
"""

# As in a venv of setuptools 81 or later, or of Python 3.12 or later (which has no setuptools).
WITHOUT_PKG_RESOURCES = """
import importlib.abc
import sys


class NoPkgResources(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "pkg_resources":
            raise ModuleNotFoundError("No module named 'pkg_resources'", name=name)
        return None


sys.meta_path.insert(0, NoPkgResources())
"""

# A ZWJ emoji sequence, a bare domain, a link with its scheme, a character X weighs 2 and © (an emoji to X).
POST = "Pool open 🏊‍♀️ today, see city.example/pool or https://city.example/hours — 水 ©"


def _web_process(tmp_path: Path, script: str) -> list[str]:
    env = {
        **os.environ,
        "CIVICPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'civicpost.db'}",
        "CIVICPOST_SECRET_KEY": "a-test-key-of-at-least-thirty-two-characters",
        "CIVICPOST_MEDIA_DIR": str(tmp_path / "media"),
    }
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_web_process_loads_the_passkey_and_single_sign_on_libraries_only_when_used(tmp_path: Path) -> None:
    lines = _web_process(tmp_path, START + f"""
print(" ".join(sorted(m for m in {LOADED_AT_FIRST_USE!r} if m in sys.modules)) or "none")
print(" ".join(sorted(m for m in {NEVER_LOADED!r} if m in sys.modules)) or "none")
""")
    # The pages that use them are there (tests/test_oidc.py, tests/browser/test_passkeys.py sign in through them).
    assert lines[-2] == "none"
    # X's lengths were measured at the start (the lint's warm-up) without it.
    assert lines[-1] == "none"


def test_a_web_process_starts_and_measures_x_posts_where_setuptools_has_no_pkg_resources(tmp_path: Path) -> None:
    lines = _web_process(tmp_path, WITHOUT_PKG_RESOURCES + START + f"""
from fastapi.testclient import TestClient
from civicpost.text import lengths

with TestClient(app) as client:
    print(client.get("/healthz").status_code)
print(lengths.x_length({POST!r}))
print(lengths.x_invalid_characters({POST!r} + "\\ufffe"))
""")
    assert lines[-3] == "200"
    # Exactly what twitter-text itself counts, loaded the usual way in this process.
    assert int(lines[-2]) == twitter_text.parse_tweet(POST).weightedLength
    assert lines[-1] == "('\\ufffe',)"

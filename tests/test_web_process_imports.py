"""A web process holds what its requests need: the sign-in libraries that only
passkeys and single sign-on use load when someone uses them (about 25 MB a
process, docs/benchmarks.md), so `civicpost serve --workers 2` fits its memory."""

import os
import subprocess
import sys
from pathlib import Path

# Loaded by civicpost.identity.passkeys, civicpost.identity.oidc and platforms.guarded_requests at first use.
LOADED_AT_FIRST_USE = ("webauthn", "authlib", "joserfc", "requests")

SCRIPT = f"""
import sys
from civicpost import migrate
from civicpost.db import make_engine
from civicpost.web import create_app
from civicpost.config import get_settings

migrate.upgrade_engine(make_engine(get_settings().database_url))
app = create_app()
print(" ".join(sorted(m for m in {LOADED_AT_FIRST_USE!r} if m in sys.modules)) or "none")
"""


def test_a_web_process_loads_the_passkey_and_single_sign_on_libraries_only_when_used(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CIVICPOST_DATABASE_URL": f"sqlite:///{tmp_path / 'civicpost.db'}",
        "CIVICPOST_SECRET_KEY": "a-test-key-of-at-least-thirty-two-characters",
        "CIVICPOST_MEDIA_DIR": str(tmp_path / "media"),
    }
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    # The pages that use them are there (tests/test_oidc.py, tests/browser/test_passkeys.py sign in through them).
    assert result.stdout.splitlines()[-1] == "none"

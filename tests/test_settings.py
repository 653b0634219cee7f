"""The service refuses to start without what it needs, and says how to fix it."""

import subprocess
import sys

import pytest

from civicpost.config import ConfigError, Settings


def test_production_without_a_secret_key_refuses_to_start_and_says_how_to_set_it(tmp_path):
    settings = Settings(env="production", database_url=f"sqlite:///{tmp_path}/x.db", secret_key=None)
    with pytest.raises(ConfigError, match="CIVICPOST_SECRET_KEY") as info:
        settings.fernet_key()
    assert "secrets.token_urlsafe" in str(info.value)


def test_a_placeholder_or_short_key_is_refused_in_production(tmp_path):
    for key in ("changeme", "short-key"):
        with pytest.raises(ConfigError):
            Settings(env="production", secret_key=key).fernet_key()


def test_the_serve_command_exits_with_the_message_in_production(tmp_path):
    env = {"CIVICPOST_ENV": "production", "CIVICPOST_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "civicpost", "serve", "--port", "0"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "CIVICPOST_SECRET_KEY is not set" in result.stderr


def test_development_makes_and_keeps_a_key_beside_the_database(tmp_path, monkeypatch):
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    monkeypatch.chdir(work)
    url = f"sqlite:///{data / 'city.db'}"
    first = Settings(env="development", database_url=url, secret_key=None).fernet_key()
    second = Settings(env="development", database_url=url, secret_key=None).fernet_key()
    assert first == second and len(first) >= 32
    assert (data / "city.db.secret").read_text().strip() == first
    assert (data / "city.db.secret").stat().st_mode & 0o077 == 0
    assert list(work.iterdir()) == []  # nothing in the working directory


def test_an_unknown_time_zone_is_refused_with_an_example():
    with pytest.raises(ValueError, match="America/New_York"):
        Settings(timezone="Mars/Olympus")


def test_a_broken_post_template_stops_the_start_with_its_file_and_line(tmp_path):
    import shutil

    from civicpost import PROJECT_ROOT

    custom = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates", custom)
    (custom / "posts" / "x.txt.j2").write_text("{{ title }}\n{% if body %}\n{{ body }\n")
    env = {"CIVICPOST_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "CIVICPOST_TEMPLATES_DIR": str(custom), "PATH": "/usr/bin:/bin",
           "CIVICPOST_ENV": "development"}
    result = subprocess.run(
        [sys.executable, "-m", "civicpost", "serve", "--port", "0"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "x.txt.j2" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.stderr

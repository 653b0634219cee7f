"""`civicpost backup` and `civicpost restore`: the database and the uploaded
images in one archive.

SQLite is copied with its online backup API, so a backup taken while the
service and the worker run is consistent (a plain file copy of a WAL database
is not). PostgreSQL is dumped with `pg_dump --format=custom` when it is on the
PATH. The secret key is never put in the archive: channel credentials in it
are encrypted under that key, so the key is kept apart from the backups, the
way a safe's combination is not taped to the safe.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from civicpost import __version__

MANIFEST = "backup.json"
SQLITE_NAME = "civicpost.db"
PG_DUMP_NAME = "civicpost.pgdump"
MEDIA = "media"


class BackupError(RuntimeError):
    """What stops a backup or restore, in words that say what to do."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    database: str
    images: int
    size_bytes: int


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, or None for another database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def backup(*, database_url: str, media_dir: Path, out: Path) -> BackupReport:
    """Write a .tar.gz with the database, the images and a manifest; atomic."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="civicpost-backup-") as scratch:
        scratch_dir = Path(scratch)
        database_file, kind = _dump_database(database_url, scratch_dir)
        images = sorted(p for p in Path(media_dir).glob("*") if p.is_file() and not p.name.startswith("."))
        manifest = {
            "civicpost": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": kind,
            "schema_revision": _schema_revision(database_url),
            "images": len(images),
            "note": "channel credentials are encrypted with CIVICPOST_SECRET_KEY, which is not in this archive",
        }
        (scratch_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
        os.close(fd)
        try:
            with tarfile.open(partial, "w:gz") as archive:
                archive.add(scratch_dir / MANIFEST, arcname=MANIFEST)
                archive.add(database_file, arcname=database_file.name)
                for image in images:
                    archive.add(image, arcname=f"{MEDIA}/{image.name}")
            os.replace(partial, out)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return BackupReport(path=out, database=kind, images=len(images), size_bytes=out.stat().st_size)


def _dump_database(database_url: str, scratch: Path) -> tuple[Path, str]:
    path = sqlite_path(database_url)
    if path is not None:
        if not path.exists():
            raise BackupError(f"there is no database at {path}; check CIVICPOST_DATABASE_URL")
        target = scratch / SQLITE_NAME
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return target, "sqlite"
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed; install the PostgreSQL client (Debian: apt-get install postgresql-client) "
            "or dump the database yourself as docs/deploy.md shows"
        )
    target = scratch / PG_DUMP_NAME
    url = make_url(database_url).set(drivername="postgresql")
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}",
         f"--dbname={url.render_as_string(hide_password=False)}"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise BackupError(f"pg_dump failed: {first}")
    return target, "postgresql"


def _schema_revision(database_url: str) -> str | None:
    from civicpost.checks import schema_state

    return schema_state(database_url).current


def restore(*, archive: Path, database_url: str, media_dir: Path, force: bool = False) -> dict:
    """Put a SQLite backup back: the database file and the images. Refuses to
    overwrite an existing database unless `force` (the old file is kept beside
    it with a .before-restore suffix)."""
    target = sqlite_path(database_url)
    if target is None:
        raise BackupError(
            "restoring into PostgreSQL is done with pg_restore (see docs/deploy.md); this command restores SQLite"
        )
    try:
        opened = tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError):
        raise BackupError(f"{archive} is not a civicpost backup (not a readable .tar.gz)") from None
    with opened, tempfile.TemporaryDirectory(prefix="civicpost-restore-") as scratch:
        names = set(opened.getnames())
        if MANIFEST not in names or SQLITE_NAME not in names:
            raise BackupError(f"{archive} is not a SQLite civicpost backup (no {MANIFEST} or {SQLITE_NAME} inside)")
        opened.extractall(scratch, filter="data")
        manifest = json.loads((Path(scratch) / MANIFEST).read_text())
        if target.exists():
            if not force:
                raise BackupError(f"{target} already exists; move it away or pass --force to replace it")
            os.replace(target, target.with_name(target.name + ".before-restore"))
            for suffix in ("-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(scratch) / SQLITE_NAME, target)
        media_dir = Path(media_dir)
        media_dir.mkdir(parents=True, exist_ok=True)
        restored = 0
        for image in sorted((Path(scratch) / MEDIA).glob("*")):
            shutil.copyfile(image, media_dir / image.name)
            restored += 1
    return {**manifest, "restored_images": restored, "database_path": str(target)}

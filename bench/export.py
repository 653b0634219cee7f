"""Peak memory of a records export as the number of announcements grows.

Seeds a SQLite database with N published announcements (two versions, one delivery with a
remote id, three audit events and a comment each), then writes the signed export in a child
process and prints the child's peak resident memory, the time taken and the zip's size. The
export reads announcements in id batches, streams each file into the zip and keeps the zip's
central directory in a scratch file, so the peak should stay flat as N grows tenfold. Each
zip is then checked by `civicpost export verify` and Info-ZIP's `unzip -t` ("checked").

    .venv/bin/python bench/export.py            # 1,000 and 10,000
    .venv/bin/python bench/export.py 1000 100000
"""

import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert

from civicpost import migrate
from civicpost.config import Settings
from civicpost.db import make_engine, utcnow
from civicpost.models import Announcement, AnnouncementVersion, AuditEvent, Channel, Comment, Delivery, Department, User

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
CHUNK = 2000


def seed(url: str, n: int) -> None:
    engine = make_engine(url)
    migrate.upgrade_engine(engine)
    now = utcnow()
    with engine.begin() as db:
        db.execute(insert(Department), [{"id": 1, "slug": "parks", "name": "Parks", "created_at": now}])
        db.execute(insert(User), [{"id": 1, "email": "pat@city.example", "name": "Pat", "password_hash": "x",
                                   "role": "staff", "active": True, "emergency_publisher": False, "created_at": now}])
        db.execute(insert(Channel), [{"id": 1, "department_id": 1, "platform": "feed", "name": "Website",
                                      "language": "en", "settings": {}, "active": True, "created_at": now,
                                      "needs_attention": False, "track_links": False, "stale_after_days": 30}])
        for start in range(1, n + 1, CHUNK):
            ids = range(start, min(n, start + CHUNK - 1) + 1)
            body = "The Elm Street pool opens Saturday at 9 a.m. Lifeguards on duty all day. " * 4
            db.execute(insert(Announcement), [
                {"id": i, "department_id": 1, "author_id": 1, "title": f"Announcement {i}", "body": body,
                 "language": "en", "emergency": False, "state": "published", "legal_hold": False, "version": 3,
                 "created_at": now, "updated_at": now} for i in ids])
            db.execute(insert(AnnouncementVersion), [
                {"announcement_id": i, "number": v, "author_id": 1, "reason": "create" if v == 1 else "edit",
                 "fingerprint": "a" * 64, "created_at": now,
                 "content": {"title": f"Announcement {i}", "body": body, "renditions": [{"channel_id": 1,
                                                                                         "text": body}]}}
                for i in ids for v in (1, 2)])
            db.execute(insert(Delivery), [
                {"key": str(uuid.uuid4()), "announcement_id": i, "channel_id": 1, "status": "published",
                 "fingerprint": "a" * 64, "rendition": {"text": body}, "attempts": 1, "lane": 1, "due_at": now,
                 "next_attempt_at": now, "published_at": now, "remote_id": f"post-{i}", "reconcile": False,
                 "remote_url": f"https://social.example/@city/{i}", "created_at": now, "updated_at": now}
                for i in ids])
            db.execute(insert(AuditEvent), [
                {"at": now, "actor": "pat@city.example", "action": action, "object_type": "announcement",
                 "object_id": i, "fingerprint": "a" * 64} for i in ids for action in ("create", "submit", "approve")])
            db.execute(insert(Comment), [{"announcement_id": i, "author_id": 1, "body": "Looks right.",
                                          "created_at": now} for i in ids])
    engine.dispose()


def child(url: str, out: str) -> None:
    from civicpost.db import make_sessionmaker
    from civicpost.exports import signing, writer

    settings = Settings(env="test", database_url=url, secret_key=SECRET, media_dir=Path(out).parent / "media")
    engine = make_engine(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    today = date.today()
    written = writer.write(make_sessionmaker(engine), settings, out=Path(out), exported_by="bench",
                           scope=writer.Scope(today - timedelta(days=2), today + timedelta(days=2)))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(out).with_suffix(".pub").write_bytes(signing.public_pem(signing.private_key(settings)))
    print(f"{written.announcements} {seconds:.1f} {before / 1024:.1f} {peak / 1024:.1f} {written.size_bytes}")


def checked(out: str) -> str:
    """`civicpost export verify` and `unzip -t` on the zip: "ok", or what failed."""
    civicpost = Path(sys.executable).with_name("civicpost")
    key = str(Path(out).with_suffix(".pub"))
    verify = subprocess.run([str(civicpost), "export", "verify", out, "--public-key", key],
                            capture_output=True, text=True)
    if verify.returncode != 0:
        return "verify failed: " + (verify.stdout + verify.stderr).strip()[-300:]
    unzip = shutil.which("unzip")
    if unzip is None:
        return "verified (no unzip)"
    tested = subprocess.run([unzip, "-tq", out], capture_output=True, text=True)
    return "ok" if tested.returncode == 0 else "unzip -t failed: " + tested.stdout.strip()[-300:]


def main(sizes: list[int]) -> None:
    print(f"{'announcements':>13} {'seconds':>8} {'per 1,000':>9} {'RSS before':>11} {'peak RSS':>9} "
          f"{'grew':>7} {'zip MB':>7} checked")
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            seed(url, n)
            ran = subprocess.run([sys.executable, __file__, "--child", url, f"{folder}/export.zip"],
                                 capture_output=True, text=True, check=True)
            count, seconds, before, peak, size = ran.stdout.split()
            print(f"{int(count):>13,} {float(seconds):>8.1f} {float(seconds) * 1000 / n:>9.2f} {before:>8} MB "
                  f"{peak:>6} MB {float(peak) - float(before):>4.1f} MB {int(size) / 1e6:>7.1f} "
                  f"{checked(f'{folder}/export.zip')}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main([int(a) for a in sys.argv[1:]] or [1000, 10000])

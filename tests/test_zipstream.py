"""The export's zip writer: more members than a plain zip can count (ZIP64), read back by
Python's zipfile and by Info-ZIP's `unzip -t`, and its memory the same at 10,000 members as
at 70,000 (Python's zipfile, measured the same way, grows with every member)."""

import shutil
import subprocess
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from civicpost.exports import zipstream
from civicpost.exports.zipstream import ZipWriter

UNZIP = shutil.which("unzip")


def record(i: int) -> bytes:
    return b'{"id": %d, "title": "Announcement %d"}\n' % (i, i)


def write_many(path: Path, n: int) -> None:
    out = ZipWriter(path, scratch_dir=path.parent)
    for i in range(n):
        out.writestr(f"data/announcements/{i}/record.json", record(i))
    out.close()


def write_many_with_zipfile(path: Path, n: int) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for i in range(n):
            out.writestr(f"data/announcements/{i}/record.json", record(i))


def unzip_test(path: Path) -> subprocess.CompletedProcess:
    assert UNZIP, "Info-ZIP unzip is needed for this test: apt-get install unzip"
    return subprocess.run([UNZIP, "-t", str(path)], capture_output=True, text=True, timeout=120)


def test_70000_members_need_zip64_and_read_back_with_zipfile_and_unzip(tmp_path):
    path = tmp_path / "many.zip"
    out = ZipWriter(path, scratch_dir=tmp_path)
    for i in range(70_000):
        out.writestr(f"data/announcements/{i}/record.json", record(i))
    with out.open("data/index.csv") as member:  # streamed, size unknown in advance
        for i in range(70_000):
            member.write(b"%d,Announcement %d\n" % (i, i))
    out.writestr("data/picture.png", b"\x89PNG not really", deflate=False)
    out.writestr("data/caf\u00e9.txt", "\u00e9t\u00e9".encode())
    out.close()
    assert out.members == 70_003

    tail = path.read_bytes()[-200:]
    assert b"PK\x06\x06" in tail and b"PK\x06\x07" in tail  # the ZIP64 end records
    with zipfile.ZipFile(path) as read:
        names = read.namelist()
        assert len(names) == 70_003 and len(set(names)) == 70_003
        assert read.testzip() is None  # every CRC checked
        assert read.read("data/announcements/65536/record.json") == record(65536)
        assert read.read("data/index.csv").splitlines()[-1] == b"69999,Announcement 69999"
        assert read.getinfo("data/picture.png").compress_type == zipfile.ZIP_STORED
        assert read.getinfo("data/index.csv").compress_type == zipfile.ZIP_DEFLATED
        assert read.read("data/caf\u00e9.txt").decode() == "\u00e9t\u00e9"
        assert read.getinfo("data/index.csv").date_time == (1980, 1, 1, 0, 0, 0)
    checked = unzip_test(path)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr
    assert "No errors detected" in checked.stdout and checked.stdout.count(" OK\n") == 70_003


def test_sizes_and_offsets_past_the_limit_go_into_zip64_fields(tmp_path, monkeypatch):
    """The ZIP64 extra fields for a member's sizes and offset (a bag past 2 GiB), exercised by
    lowering the limit so small members and offsets pass it."""
    monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 100)
    path = tmp_path / "big.zip"
    out = ZipWriter(path)
    out.writestr("small.txt", b"tiny")
    out.writestr("known.txt", b"known size " * 50)  # declared: the local header has ZIP64 sizes
    with out.open("streamed.bin", deflate=False) as member:
        member.write(bytes(range(256)) * 4)
    out.writestr("late.txt", b"after the limit")  # only its offset is past it
    out.close()
    with zipfile.ZipFile(path) as read:
        assert read.testzip() is None
        assert read.read("known.txt") == b"known size " * 50
        assert read.read("streamed.bin") == bytes(range(256)) * 4
        assert read.getinfo("late.txt").header_offset > 100
        assert read.read("late.txt") == b"after the limit"
    assert unzip_test(path).returncode == 0


def peak_while(write: Callable[[Path, int], None], path: Path, n: int) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        write(path, n)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
        path.unlink()


def test_memory_does_not_grow_with_the_number_of_members(tmp_path):
    few = peak_while(write_many, tmp_path / "few.zip", 10_000)
    many = peak_while(write_many, tmp_path / "many.zip", 70_000)
    assert many - few < 1_000_000, f"peak {few / 1e6:.1f} MB at 10,000 members, {many / 1e6:.1f} MB at 70,000"
    assert many < 4_000_000
    # The same measure sees zipfile's ZipInfo per member (about 0.5 MB per 1,000 here).
    grows = peak_while(write_many_with_zipfile, tmp_path / "zipfile.zip", 30_000)
    base = peak_while(write_many_with_zipfile, tmp_path / "zipfile.zip", 10_000)
    assert grows - base > 5_000_000


def test_misuse_is_refused_with_the_member_named(tmp_path):
    out = ZipWriter(tmp_path / "x.zip")
    member = out.open("one.txt")
    with pytest.raises(ValueError, match="one.txt is still open; close it before adding two.txt"):
        out.open("two.txt")
    with pytest.raises(ValueError, match="one.txt is still open"):
        out.close()
    member.close()
    with pytest.raises(ValueError, match="one.txt is already closed"):
        member.write(b"late")
    out.close()
    with pytest.raises(ValueError, match="already closed"):
        out.open("three.txt")
    with zipfile.ZipFile(tmp_path / "x.zip") as read:
        assert read.namelist() == ["one.txt"] and read.read("one.txt") == b""

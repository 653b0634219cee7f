"""A small zip writer whose memory does not grow with the number of members.

Python's `zipfile` keeps one `ZipInfo` per member until it writes the central directory at
close: about 370 bytes each, 111 MB for 300,000 members. Here each member's central-directory
record is appended, as bytes, to a scratch file the moment the member is finished, and `close`
copies that file to the end of the zip as the central directory, with the ZIP64 end records
when there are 65,535 members or more, or the zip passes 2 GiB. Members are deflated with zlib
or stored; the local header is written first and filled in (CRC, sizes) once the member is done.

Names are not checked for repeats (that would mean keeping every name): the caller makes them
unique by construction. The bag does: one folder per announcement id, read in increasing id
order, and the tag files added once at close.
"""

import shutil
import struct
import tempfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import IO, Self

# The same limit as zipfile: sizes and offsets past 2 GiB - 1 go into a ZIP64 extra field.
ZIP64_LIMIT = (1 << 31) - 1
COUNT_LIMIT = 0xFFFF
STORED, DEFLATED = 0, 8
# 1980-01-01 00:00:00, the earliest DOS time: the same bytes whenever the bag is written.
DOS_TIME, DOS_DATE = 0, (1 << 5) | 1
UTF8_NAMES = 0x800
MADE_ON_UNIX = 3 << 8
COPY_CHUNK = 1024 * 1024

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR = struct.Struct("<4sLQL")
_END = struct.Struct("<4s4H2LH")


class ZipWriter:
    """`open(name)` gives a member to write to; `close()` writes the central directory.
    Only one member is open at a time."""

    def __init__(self, path: Path, *, scratch_dir: Path | None = None) -> None:
        self._out: IO[bytes] = path.open("wb")
        self._central: IO[bytes] = tempfile.TemporaryFile(dir=scratch_dir)
        self._open: Member | None = None
        self.members = 0
        self.closed = False

    def open(self, name: str, *, deflate: bool = True, size: int | None = None,
             mode: int = 0o644) -> "Member":
        """A new member. `size`, if known, lets a small member skip the ZIP64 local field."""
        if self.closed:
            raise ValueError("the zip is already closed")
        if self._open is not None:
            raise ValueError(f"{self._open.name} is still open; close it before adding {name}")
        self._open = Member(self, name, deflate=deflate, size=size, mode=mode)
        return self._open

    def writestr(self, name: str, data: bytes, *, deflate: bool = True) -> None:
        with self.open(name, deflate=deflate, size=len(data)) as member:
            member.write(data)

    def _finished(self, member: "Member", record: bytes) -> None:
        self._central.write(record)
        self.members += 1
        self._open = None

    def close(self) -> None:
        """Write the central directory and the end records, and close the file."""
        if self.closed:
            return
        if self._open is not None:
            raise ValueError(f"{self._open.name} is still open")
        out = self._out
        start = out.tell()
        self._central.seek(0)
        shutil.copyfileobj(self._central, out, COPY_CHUNK)
        size = out.tell() - start
        count = self.members
        if count >= COUNT_LIMIT or start > ZIP64_LIMIT or size > ZIP64_LIMIT:
            end64 = out.tell()
            out.write(_END64.pack(b"PK\x06\x06", _END64.size - 12, 45, 45, 0, 0, count, count, size, start))
            out.write(_LOCATOR.pack(b"PK\x06\x07", 0, end64, 1))
        out.write(_END.pack(b"PK\x05\x06", 0, 0, min(count, COUNT_LIMIT), min(count, COUNT_LIMIT),
                            min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF), 0))
        self._release()

    def abandon(self) -> None:
        """Close without finishing the zip (the caller removes the file)."""
        if not self.closed:
            self._release()

    def _release(self) -> None:
        self.closed = True
        self._open = None
        self._central.close()
        self._out.close()


class Member:
    """One member being written: deflated (or stored) and its CRC counted as it comes."""

    def __init__(self, owner: ZipWriter, name: str, *, deflate: bool, size: int | None, mode: int) -> None:
        self.name = name
        self._owner = owner
        self._raw = name.encode("utf-8")
        self._flags = 0 if name.isascii() else UTF8_NAMES
        self._method = DEFLATED if deflate else STORED
        self._mode = mode
        # Unknown or large: the local header carries ZIP64 sizes (deflate can grow data a little).
        self._zip64 = size is None or size * 1.05 + 1024 > ZIP64_LIMIT
        self._compress = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15) if deflate else None
        self._crc = 0
        self._size = 0
        self._written = 0
        out = owner._out
        self._offset = out.tell()
        out.write(self._local_header())
        self._closed = False

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError(f"{self.name} is already closed")
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._emit(self._compress.compress(data) if self._compress else data)
        return len(data)

    def _emit(self, data: bytes) -> None:
        if data:
            self._owner._out.write(data)
            self._written += len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._compress:
            self._emit(self._compress.flush())
        if not self._zip64 and max(self._size, self._written) > ZIP64_LIMIT:
            raise ValueError(f"{self.name} grew past 2 GiB after it was declared small")
        out = self._owner._out
        end = out.tell()
        out.seek(self._offset)
        out.write(self._local_header())
        out.seek(end)
        self._owner._finished(self, self._central_record())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _local_header(self) -> bytes:
        if self._zip64:
            extra = struct.pack("<2H2Q", 1, 16, self._size, self._written)
            sizes = (0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra, sizes = b"", (self._written, self._size)
        return _LOCAL.pack(b"PK\x03\x04", 45 if self._zip64 else 20, self._flags, self._method, DOS_TIME,
                           DOS_DATE, self._crc, *sizes, len(self._raw), len(extra)) + self._raw + extra

    def _central_record(self) -> bytes:
        # Only the fields that do not fit go into the ZIP64 extra, in the order the format fixes.
        big = [v for v in (self._size, self._written, self._offset) if v > ZIP64_LIMIT]
        extra = struct.pack(f"<2H{len(big)}Q", 1, 8 * len(big), *big) if big else b""
        version = 45 if big or self._zip64 else 20

        def fits(value: int) -> int:
            return 0xFFFFFFFF if value > ZIP64_LIMIT else value

        return _CENTRAL.pack(b"PK\x01\x02", MADE_ON_UNIX | version, version, self._flags, self._method, DOS_TIME,
                             DOS_DATE, self._crc, fits(self._written), fits(self._size), len(self._raw), len(extra),
                             0, 0, 0, (0o100000 | self._mode) << 16, fits(self._offset)) + self._raw + extra

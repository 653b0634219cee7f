"""A BagIt 1.0 bag written straight into a zip, file by file, and checked again from the zip.

The bag's files are written here rather than with bagit-python, which builds a bag in place
in a directory: an export streams each file into the zip as it is made, keeping the manifest
lines and the zip's central directory in scratch files, so neither memory nor a second copy on
disk grows with the export.
The result is an ordinary bag: unzipped, `bagit.py --validate` accepts it.
"""

import hashlib
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from civicpost.exports import signing
from civicpost.exports.zipstream import Member, ZipWriter

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
SIGNATURE = TAG_MANIFEST + ".sig"
TAG_FILES = ("bagit.txt", "bag-info.txt", MANIFEST)
CHUNK = 1024 * 1024
# Already compressed: stored as they are.
STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


class BagWriter:
    """Payload files go under data/ as they come; `close` adds the tag files and the signature.
    The zip is written as FILE.partial and renamed into place only when the bag is whole."""

    def __init__(self, path: Path, *, scratch_dir: Path | None = None) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._zip = ZipWriter(self._partial, scratch_dir=scratch_dir)
        self._manifest: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", dir=scratch_dir)
        self.payload_bytes = 0
        self.payload_files = 0

    def add_bytes(self, name: str, data: bytes) -> str:
        with self._open(name, len(data)) as out:
            out.write(data)
        return self._listed(name, hashlib.sha256(data).hexdigest(), len(data))

    def add_file(self, name: str, source: Path) -> str:
        with source.open("rb") as src:
            return self.add_stream(name, src, size_hint=source.stat().st_size)

    def add_text_stream(self, name: str, source: IO[str]) -> str:
        """A scratch text file (UTF-8), copied in chunks."""
        digest, size = hashlib.sha256(), 0
        with self._open(name) as out:
            while text := source.read(CHUNK):
                chunk = text.encode()
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return self._listed(name, digest.hexdigest(), size)

    def add_stream(self, name: str, source: IO[bytes], *, size_hint: int | None = None) -> str:
        """`size_hint`, if known, only spares a small file the ZIP64 fields in its local header."""
        digest, size = hashlib.sha256(), 0
        with self._open(name, size_hint) as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        return self._listed(name, digest.hexdigest(), size)

    def _open(self, name: str, size: int | None = None) -> Member:
        return self._zip.open("data/" + name, deflate=not name.lower().endswith(STORED_SUFFIXES), size=size)

    def _listed(self, name: str, sha256: str, size: int) -> str:
        self._manifest.write(f"{sha256}  data/{name}\n")
        self.payload_bytes += size
        self.payload_files += 1
        return sha256

    def close(self, *, info: dict[str, str], key: Ed25519PrivateKey) -> Path:
        """Write the manifests and bag-info.txt, sign the tag manifest, and put the zip in place."""
        tags: list[tuple[str, str]] = []
        self._manifest.seek(0)
        digest = hashlib.sha256()
        with self._zip.open(MANIFEST) as out:
            while chunk := self._manifest.read(CHUNK):
                raw = chunk.encode()
                digest.update(raw)
                out.write(raw)
        self._manifest.close()
        tags.append((digest.hexdigest(), MANIFEST))
        fields = {**info, "Payload-Oxum": f"{self.payload_bytes}.{self.payload_files}"}
        bag_info = "".join(f"{name}: {_one_line(value)}\n" for name, value in fields.items()).encode()
        for name, data in (("bagit.txt", BAGIT_TXT), ("bag-info.txt", bag_info)):
            self._zip.writestr(name, data)
            tags.append((hashlib.sha256(data).hexdigest(), name))
        tag_manifest = "".join(f"{sha}  {name}\n" for sha, name in sorted(tags, key=lambda t: t[1])).encode()
        self._zip.writestr(TAG_MANIFEST, tag_manifest)
        self._zip.writestr(SIGNATURE, key.sign(tag_manifest))
        self._zip.close()
        self._partial.replace(self.path)
        return self.path

    def abandon(self) -> None:
        self._zip.abandon()
        self._manifest.close()
        self._partial.unlink(missing_ok=True)


def _one_line(value: str) -> str:
    return " ".join(value.split())


@dataclass
class Findings:
    """What `verify` found wrong, one plain sentence each; none: the bag is whole and signed."""

    problems: list[str] = field(default_factory=list)
    payload_files: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems


def verify(path: Path, public: Ed25519PublicKey) -> Findings:
    """Check every payload file against the manifest, files missing or added, the tag manifest,
    and the signature of the tag manifest."""
    found = Findings()
    try:
        bag = zipfile.ZipFile(path)
    except FileNotFoundError:
        found.problems.append(f"{path}: no such file")
        return found
    except (zipfile.BadZipFile, OSError):
        found.problems.append(f"{path}: not a zip file")
        return found
    with bag:
        names = [n for n in bag.namelist() if not n.endswith("/")]
        present = set(names)
        if len(present) < len(names):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    found.problems.append(f"{name}: in the zip more than once")
                seen.add(name)
        for needed in (*TAG_FILES, TAG_MANIFEST, SIGNATURE):
            if needed not in present:
                found.problems.append(f"{needed}: missing from the bag")
        if "bagit.txt" in present and not bag.read("bagit.txt").startswith(b"BagIt-Version: 1."):
            found.problems.append("bagit.txt: does not declare BagIt version 1.x")
        manifest = _listing(bag, MANIFEST, found) if MANIFEST in present else {}
        for name in names:
            if not name.startswith("data/"):
                continue
            found.payload_files += 1
            if name not in manifest:
                found.problems.append(f"{name}: not in the manifest (a file was added)")
            elif _sha256(bag, name) != manifest[name]:
                found.problems.append(f"{name}: SHA-256 differs from the manifest")
        for name in manifest:
            if name not in present:
                found.problems.append(f"{name}: listed in the manifest but missing from the bag")
        if TAG_MANIFEST in present:
            tags = _listing(bag, TAG_MANIFEST, found)
            for name, sha in tags.items():
                if name not in present:
                    found.problems.append(f"{name}: listed in the tag manifest but missing from the bag")
                elif _sha256(bag, name) != sha:
                    found.problems.append(f"{name}: SHA-256 differs from the tag manifest")
            for name in names:
                if not name.startswith("data/") and name not in tags and name not in (TAG_MANIFEST, SIGNATURE):
                    found.problems.append(f"{name}: a file outside data/ that the tag manifest does not list")
            for name in TAG_FILES:
                if name in present and name not in tags:
                    found.problems.append(f"{name}: not covered by the tag manifest")
            if SIGNATURE in present and not signing.signed_by(public, bag.read(TAG_MANIFEST), bag.read(SIGNATURE)):
                found.problems.append("signature does not match the public key")
    return found


def _listing(bag: zipfile.ZipFile, name: str, found: Findings) -> dict[str, str]:
    listed: dict[str, str] = {}
    for number, line in enumerate(_lines(bag, name), start=1):
        sha, _, member = line.partition(" ")
        member = member.lstrip(" *")
        if len(sha) != 64 or not member or any(c not in "0123456789abcdef" for c in sha.lower()):
            found.problems.append(f"{name}: line {number} is not '<sha256>  <path>'")
            continue
        listed[member.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")] = sha.lower()
    return listed


def _lines(bag: zipfile.ZipFile, name: str) -> Iterator[str]:
    with bag.open(name) as raw:
        for line in raw:
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if text:
                yield text


def _sha256(bag: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with bag.open(name) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


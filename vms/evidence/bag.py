"""BagIt 1.0 (RFC 8493) as the evidence profile uses it: manifests written from hashes taken
while the files were copied (one pass over the bytes), and read back strictly.

Written here rather than with the Library of Congress ``bagit`` package: that one hashes
every file again after it is copied (a second pass over an hour of video), and validates
leniently (it tolerates extra files and unknown algorithms), where the verifier must fail
closed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ALGORITHMS = ("sha256", "sha512")
CHUNK = 1 << 20
COPY_CHUNK = 4 << 20  # fewer hand-overs between the copying and hashing threads


@dataclass
class Hashes:
    size: int = 0
    digests: dict[str, str] = field(default_factory=dict)


_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha512")
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-copy")


class MultiHash:
    """SHA-256 and SHA-512 of the same bytes, fed once. The SHA-512 of a block runs on a
    helper thread while this one does the SHA-256 (hashlib releases the GIL on large
    blocks), which halves the wall time of hashing an hour of video on two cores."""

    def __init__(self, algorithms: Iterable[str] = ALGORITHMS) -> None:
        self._h = {a: hashlib.new(a) for a in algorithms}
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        hs = list(self._h.values())
        if len(hs) > 1 and len(data) >= 1 << 16:
            pending = [_POOL.submit(h.update, data) for h in hs[1:]]
            hs[0].update(data)
            for f in pending:
                f.result()
        else:
            for h in hs:
                h.update(data)
        self.size += len(data)

    def result(self) -> Hashes:
        return Hashes(self.size, {a: h.hexdigest() for a, h in self._h.items()})


def _write_all(fd: int, block: bytes) -> None:
    view = memoryview(block)
    while view:
        view = view[os.write(fd, view):]


def copy_hashed(src: Path, dst: Path) -> Hashes:
    """Copy ``src`` to a new file ``dst``, hashing the bytes as they pass. Each block is
    written on a helper thread while it is hashed (writing an hour of video into the page
    cache took as long as its SHA-256), and the block written is the block hashed."""
    mh = MultiHash()
    with src.open("rb", buffering=0) as fin, dst.open("xb", buffering=0) as fout:
        while block := fin.read(COPY_CHUNK):
            written = _WRITER.submit(_write_all, fout.fileno(), block)
            try:
                mh.update(block)
            finally:
                written.result()  # a failed write (a full disk) is raised here
    return mh.result()


def hash_file(path: Path, algorithms: Iterable[str] = ALGORITHMS) -> Hashes:
    mh = MultiHash(algorithms)
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            mh.update(block)
    return mh.result()


def write_bytes_hashed(path: Path, data: bytes) -> Hashes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    mh = MultiHash()
    mh.update(data)
    return mh.result()


def manifest_text(entries: dict[str, Hashes], algorithm: str) -> str:
    """``<hash>  <path>`` lines, sorted: the same format ``sha256sum -c`` reads."""
    return "".join(f"{h.digests[algorithm]}  {name}\n" for name, h in sorted(entries.items()))


def parse_manifest(text: str) -> tuple[dict[str, str], list[str]]:
    """Entries and the lines that could not be read (each a failure for the verifier)."""
    entries: dict[str, str] = {}
    bad: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        entry = parse_manifest_line(line)
        if entry is None:
            bad.append(f"line {n}: {line[:80]!r}")
            continue
        digest, name = entry
        if name in entries:
            bad.append(f"line {n}: {name} is listed twice")
            continue
        entries[name] = digest
    return entries, bad


def parse_manifest_line(line: str) -> tuple[str, str] | None:
    """``(digest, path)`` of one ``<hash>  <path>`` line (the digest in lower case), or None
    when the line cannot be read as one."""
    digest, sep, name = line.partition(" ")
    name = name.lstrip(" ").lstrip("*")
    if not sep or not name or not digest or \
            not all(c in "0123456789abcdefABCDEF" for c in digest):
        return None
    return digest.lower(), name


def bag_info_text(fields: list[tuple[str, str]]) -> str:
    return "".join(f"{k}: {' '.join(str(v).split())}\n" for k, v in fields)


def parse_bag_info(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key is not None:
            out[key] += " " + line.strip()
            continue
        k, sep, v = line.partition(":")
        if sep:
            key = k.strip()
            out[key] = v.strip()
    return out

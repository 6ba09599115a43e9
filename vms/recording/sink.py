"""The file a segment is written to: append-only, hashed as it is written.

The muxer is given a file object that cannot seek, so FFmpeg writes the segment strictly
front to back (fragmented MOV needs nothing else) and the SHA-256 of the bytes passed
through ``write`` is the SHA-256 of the file: one pass, no re-read. Writes go straight to
the OS (no Python buffer), so after a SIGKILL the file holds every fragment FFmpeg flushed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


class HashingSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        # O_EXCL: a segment file is never overwritten, whatever the index says.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        self._sha = hashlib.sha256()
        self.bytes = 0
        # The first write that failed. FFmpeg may swallow it (a trailer "written" into a
        # failed stream), so the segment writer asks here before calling a segment good.
        self.error: OSError | None = None

    # -- the file-object protocol PyAV uses ------------------------------------------
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False  # keeps the muxer sequential, so the running hash is the file's hash

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._fd is None:
            raise ValueError("the segment is closed")
        view = memoryview(data)
        done = 0
        try:
            while done < len(view):  # os.write may write less than asked (signals, full disks)
                done += os.write(self._fd, view[done:])
        except OSError as exc:
            self.error = self.error or exc
            raise
        self._sha.update(view)
        self.bytes += len(view)
        return len(view)

    def flush(self) -> None:
        pass  # nothing is buffered here

    def sync(self) -> None:
        """Make what is written durable (at segment close; not per fragment, which would
        cost a disk flush a second per camera)."""
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    @property
    def closed(self) -> bool:
        return self._fd is None

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    """Hash a file already on disk (recovery after a crash); returns (hex, bytes)."""
    h = hashlib.sha256()
    n = 0
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
            n += len(block)
    return h.hexdigest(), n

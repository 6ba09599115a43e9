"""Reading the files of an evidence package without being led out of it.

A package comes from outside (a USB stick, a download, a defence expert's copy), so the
verifier treats every name in it as hostile. ``open_regular`` opens only a regular file
reached without following a symbolic link: never a device, a FIFO or a socket (the file is
opened non-blocking and then checked with ``fstat``, so a FIFO cannot make it wait), and
its size is known, and checked against a limit, before a byte is read. Every refusal is a
``Refused`` whose message says why in plain words; the verifier reports it as a finding.

POSIX: each folder on the way is opened relative to its parent with ``O_NOFOLLOW`` (openat),
so a link anywhere in the path is refused and swapping one in between the check and the open
cannot lead out. Elsewhere (Windows has neither ``dir_fd`` nor ``O_NOFOLLOW``) every part of
the path is ``lstat``-ed (links and junctions refused) and the opened file's resolved path
must still lie inside the package. Either way the resolved path is checked.

``show`` prints any file name safely: bytes that are not UTF-8 as ``\\xNN``, control and
invisible characters escaped, so that a name can neither break a report nor steer a terminal.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

KIB = 1 << 10
MIB = 1 << 20

_READ = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
         | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# openat-style walking needs dir_fd, O_NOFOLLOW and O_DIRECTORY (Linux, the BSDs, macOS).
_AT = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd and \
    bool(_NOFOLLOW and _DIRECTORY)
_REPARSE_POINT = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)
REGULAR_ONLY = "refused, a package holds only regular files"


class Refused(Exception):
    """A file of the package that is not read; ``str()`` says why, naming the file.

    Raised and caught inside the verifier only (it becomes a finding in its report)."""


class Missing(Refused):
    """The file is not there at all."""


def show(name: str) -> str:
    """``name`` as it can be printed anywhere: unchanged when it is printable; otherwise
    bytes that are not UTF-8 (surrogate escapes) as ``\\xNN``, control and invisible
    characters (a newline, an escape sequence, a right-to-left override) and lone surrogates
    as Python escapes, and a backslash doubled so that the result is unambiguous."""
    if name.isprintable() and "\\" not in name:
        return name
    out = []
    for ch in name:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")  # an undecodable byte (surrogateescape)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def printable(text: str) -> str:
    """``text`` with only what ``show`` escapes (undecodable bytes, control and invisible
    characters, lone surrogates) escaped, and backslashes left as they are: for report lines
    whose file names went through ``show`` already."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\\" else show(ch) for ch in text)


def utf8_name(name: str) -> str:
    """A name from the file system as the manifests spell it: its bytes read as UTF-8, any
    byte that is not UTF-8 kept as a surrogate escape (whatever the locale's encoding)."""
    if os.name == "nt":
        return name
    return os.fsencode(name).decode("utf-8", "surrogateescape")


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def size_words(n: int) -> str:
    if n >= MIB and n % MIB == 0:
        return f"{n // MIB} MiB"
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB} KiB"
    return f"{n:,} bytes"


def kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _not_regular(rel: str, mode: int) -> Refused:
    return Refused(f"{show(rel)} is {kind(mode)}: {REGULAR_ONLY}")


def _os_name(part: str) -> str | bytes:
    return part if os.name == "nt" else part.encode("utf-8", "surrogateescape")


def _parts(rel: str) -> list[str]:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel or \
            any(p in ("", ".", "..") for p in parts) or (len(rel) > 1 and rel[1] == ":"):
        raise Refused(f"{show(rel)}: not a plain path inside the package: not read")
    return parts


def _refusal(rel: str, exc: OSError) -> Refused:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link (swapped in after the check)
        return Refused(f"{show(rel)} is a symbolic link: {REGULAR_ONLY}")
    if isinstance(exc, FileNotFoundError):
        return Missing(f"{show(rel)} is missing")
    return Refused(f"{show(rel)} cannot be read ({exc.strerror or exc})")


def _open_at(root: Path, parts: list[str]) -> int:
    """The file's descriptor, every folder on the way opened relative to its parent."""
    dfd = os.open(os.fsencode(root), _READ | _DIRECTORY)
    try:
        for i, part in enumerate(parts):
            here = "/".join(parts[:i + 1])
            try:
                st = os.stat(_os_name(part), dir_fd=dfd, follow_symlinks=False)
            except OSError as exc:
                raise _refusal(here, exc) from None
            last = i == len(parts) - 1
            if last and not stat.S_ISREG(st.st_mode):
                raise _not_regular(here, st.st_mode)
            if not last and not stat.S_ISDIR(st.st_mode):
                raise _not_regular(here, st.st_mode) if stat.S_ISLNK(st.st_mode) else \
                    Refused(f"{show(here)} is not a folder")
            flags = _READ | _NOFOLLOW | (_NONBLOCK if last else _DIRECTORY)
            try:
                fd = os.open(_os_name(part), flags, dir_fd=dfd)
            except OSError as exc:
                raise _refusal(here, exc) from None
            os.close(dfd)
            dfd = fd
        return dfd
    except BaseException:
        os.close(dfd)
        raise


def _open_checked(root: Path, parts: list[str]) -> int:
    """Without dir_fd: every part lstat-ed (a link or a junction refused), then opened."""
    here = root
    for i, part in enumerate(parts):
        here = here / part
        rel = "/".join(parts[:i + 1])
        try:
            st = os.lstat(here)
        except OSError as exc:
            raise _refusal(rel, exc) from None
        if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & _REPARSE_POINT:
            raise Refused(f"{show(rel)} is a symbolic link: {REGULAR_ONLY}")
        if i == len(parts) - 1 and not stat.S_ISREG(st.st_mode):
            raise _not_regular(rel, st.st_mode)
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            raise Refused(f"{show(rel)} is not a folder")
    try:
        return os.open(here, _READ | _NOFOLLOW | _NONBLOCK)
    except OSError as exc:
        raise _refusal("/".join(parts), exc) from None


def _inside(root: Path, rel: str) -> bool:
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root, *rel.split("/")))
    return os.path.commonpath([real_root, real]) == real_root and real != real_root


def open_regular(root: Path, rel: str, limit: int | None = None) -> tuple[BinaryIO, int]:
    """The open file ``rel`` (a POSIX path relative to ``root``) and its size, or
    ``Refused``: not a regular file, reached through a link, outside the package, or larger
    than ``limit`` bytes. Read it with ``read_limited`` or ``blocks``, which never read
    past the size known here (a file that grows meanwhile is refused)."""
    parts = _parts(rel)
    fd = _open_at(root, parts) if _AT else _open_checked(root, parts)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(rel, st.st_mode)
        if not _inside(root, rel):
            raise Refused(f"{show(rel)} resolves to a place outside the package: not read")
        if limit is not None and st.st_size > limit:
            raise Refused(f"{show(rel)} is {st.st_size:,} bytes, over the "
                          f"{size_words(limit)} limit for it: not read")
        f = os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise
    return f, st.st_size


def read_limited(root: Path, rel: str, limit: int) -> bytes:
    """The whole of a small file (a tag file, a seal file, export.json), or ``Refused``."""
    f, size = open_regular(root, rel, limit)
    with f:
        data = b"".join(blocks(f, size, rel))
    return data


def blocks(f: BinaryIO, size: int, rel: str, chunk: int = MIB) -> Iterator[bytes]:
    """The file's bytes in blocks, exactly ``size`` of them; ``Refused`` if it is shorter
    or longer than that now (changed while being read)."""
    left = size
    while left > 0:
        block = f.read(min(chunk, left))
        if not block:
            raise Refused(f"{show(rel)} became shorter while it was read")
        left -= len(block)
        yield block
    if f.read(1):
        raise Refused(f"{show(rel)} grew while it was read")


def lines(f: BinaryIO, size: int, rel: str, longest: int) -> Iterator[bytes | None]:
    """The file's lines (without their ending), one at a time, holding at most ``longest``
    bytes of one line; ``None`` in place of a line longer than that (the rest is skipped)."""
    pending = b""
    too_long = False
    for block in blocks(f, size, rel, 256 * KIB):
        start = 0
        while True:
            end = block.find(b"\n", start)
            if end < 0:
                rest = block[start:]
                if not too_long:
                    pending += rest
                    if len(pending) > longest:
                        pending, too_long = b"", True
                break
            piece = block[start:end]
            if too_long or len(pending) + len(piece) > longest:
                yield None
            else:
                yield (pending + piece).rstrip(b"\r")
            pending, too_long = b"", False
            start = end + 1
    if too_long:
        yield None
    elif pending:
        yield pending.rstrip(b"\r")

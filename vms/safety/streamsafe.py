"""Opening camera streams safely: only network streams, FFmpeg told what it may open, and
the camera password never sent in clear text.

A stream address comes from the camera (GetStreamUri); FFmpeg and libvlc would as happily
open ``file:///etc/passwd`` or ``/dev/zero``. Like ``xmlsafe`` for XML, this is the one
place that says what is acceptable, checked when a device is onboarded and again at
every open (a registry written by an older version may hold anything).

FFmpeg answers an RTSP server's Basic challenge with the password in clear text, and has
no option to refuse it. So before a player or recorder opens a stream, ``url_to_open``
asks the server (DESCRIBE, no credentials) what it wants: nothing (open without the
password), Digest (fine), or Basic only: refused on plain RTSP unless the installer has
allowed it for that device, because anyone on the path can read the password.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from urllib.parse import quote, urlsplit, urlunsplit

from vms.errors import CleartextPassword, DeviceUnreachable, UnsafeStreamUri
from vms.safety.redact import scrub_url

PREFLIGHT_TIMEOUT_S = 5.0
MAX_PREFLIGHT_BYTES = 64 * 1024

# What RTSP needs underneath: its TCP or TLS connection, and RTP over UDP if asked; nothing local.
STREAM_SCHEMES = ("rtsp", "rtsps")
FFMPEG_PROTOCOLS = "rtsp,rtsps,tcp,tls,rtp,srtp,udp,crypto"


def check_stream_uri(url: str | None) -> str:
    """``url`` if it is an RTSP address of a network host; else ``UnsafeStreamUri``."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme.lower() not in STREAM_SCHEMES or not host:
        shown = scrub_url(text)[:120] or "an empty address"
        raise UnsafeStreamUri(f"the camera gave {shown!r} as its stream address; only rtsp:// and "
                              "rtsps:// network streams are opened")
    return text


def ffmpeg_options(**options: str) -> dict[str, str]:
    """FFmpeg options for opening a camera stream: ``options`` plus the protocol whitelist."""
    return {**options, "protocol_whitelist": FFMPEG_PROTOCOLS}


def strip_userinfo(url: str | None) -> str | None:
    """Some cameras put ``user:pass@`` into stream URIs; credentials live in the keyring only."""
    if not url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def with_credentials(url: str, user: str, password: str) -> str:
    """The URL a player opens (never shown or logged: ``scrub_url`` is for that); only a
    network stream (``check_stream_uri``). Use ``url_to_open`` to open one."""
    url = check_stream_uri(url)
    if not user:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return urlunsplit((parts.scheme, auth + host, parts.path, parts.query, parts.fragment))


def auth_challenge(url: str, timeout: float = PREFLIGHT_TIMEOUT_S) -> tuple[int, set[str]]:
    """DESCRIBE ``url`` without credentials: the status code and the authentication
    schemes the server offers (lower case), e.g. ``(401, {"digest"})`` or ``(200, set())``."""
    parts = urlsplit(check_stream_uri(url))
    host = parts.hostname or ""
    secure = parts.scheme.lower() == "rtsps"
    port = parts.port or (322 if secure else 554)
    plain = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, ""))
    request = (f"DESCRIBE {plain} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n"
               "User-Agent: Beacon VMS\r\n\r\n").encode()
    deadline = time.monotonic() + timeout  # for the whole exchange: a reply may drip

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer within {timeout:g} s")
        return remaining

    try:
        with socket.create_connection((host, port), timeout=left()) as raw:
            sock: socket.socket = raw
            if secure:
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # cameras self-sign
                raw.settimeout(left())
                sock = ctx.wrap_socket(raw, server_hostname=host)
            sock.settimeout(left())
            sock.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < MAX_PREFLIGHT_BYTES:
                sock.settimeout(left())
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
    except TimeoutError as exc:  # before OSError: socket timeouts are OSErrors too
        raise DeviceUnreachable(f"{host}:{port} did not answer within {timeout:g} s when asked "
                                "how it wants the password") from exc
    except (OSError, ssl.SSLError) as exc:
        raise DeviceUnreachable(f"cannot reach {host}:{port} for its stream: "
                                f"{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
                                ) from exc
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    m = re.match(r"RTSP/\d\.\d\s+(\d{3})", lines[0] if lines else "")
    if m is None:
        raise DeviceUnreachable(f"{host}:{port} did not answer like an RTSP server")
    schemes = {line.split(":", 1)[1].strip().split(" ", 1)[0].lower() for line in lines[1:]
               if line.lower().startswith("www-authenticate:")}
    return int(m.group(1)), schemes


def url_to_open(url: str, user: str, password: str, *, allow_basic: bool = False,
                timeout: float = PREFLIGHT_TIMEOUT_S) -> str:
    """The URL to hand FFmpeg or libvlc: with the credentials only when the server asks for
    them in a way that does not expose the password (see the module docstring)."""
    url = check_stream_uri(url)
    if not user:
        return url
    status, schemes = auth_challenge(url, timeout)
    if status != 401:
        return url  # no password asked for: none is sent
    secure = urlsplit(url).scheme.lower() == "rtsps"
    if "digest" in schemes or ("basic" in schemes and (secure or allow_basic)):
        return with_credentials(url, user, password)
    where = urlsplit(url).netloc.rpartition("@")[2]
    if "basic" in schemes:
        raise CleartextPassword(
            f"{where} asks for the camera password in clear text (RTSP Basic authentication on "
            "an unencrypted connection): refused. Switch the camera to Digest authentication, "
            "or, on a network you trust, allow it for this device (vms devices allow-basic-rtsp)")
    raise CleartextPassword(f"{where} asks for a password in a way Beacon VMS does not use "
                            f"({', '.join(sorted(schemes)) or 'no scheme named'})")


def player_url(url: str, user: str, password: str, *, allow_basic: bool = False) -> str:
    """For a player handed a URL by its caller. A camera's stream (RTSP, or any URL with
    credentials) goes through ``url_to_open``; another source without credentials (an HTTP
    stream or a file, as the libvlc tests on Linux play, where libvlc has no RTSP) is opened
    as given. Camera addresses from the registry are checked before they reach a player
    (``LiveView.open``)."""
    if urlsplit(url).scheme.lower() in STREAM_SCHEMES or user:
        return url_to_open(url, user, password, allow_basic=allow_basic)
    return url

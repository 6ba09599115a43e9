"""Opening camera streams safely: only network streams, and FFmpeg told what it may open.

A stream address comes from the camera (GetStreamUri); FFmpeg and libvlc would as happily
open ``file:///etc/passwd`` or ``/dev/zero``. Like ``xmlsafe`` for XML, this is the one
place that says what is acceptable, checked when a device is onboarded and again at
every open (a registry written by an older version may hold anything).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from vms.errors import UnsafeStreamUri
from vms.redact import scrub_url

# What RTSP needs underneath: its TCP or TLS connection, and RTP over UDP if asked; nothing local.
STREAM_SCHEMES = ("rtsp", "rtsps")
FFMPEG_PROTOCOLS = "rtsp,rtsps,tcp,tls,rtp,srtp,udp,crypto"


def check_stream_uri(url: str | None) -> str:
    """``url`` if it is an RTSP address of a network host; else ``UnsafeStreamUri``."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
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

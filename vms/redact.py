"""Credential scrubbing for anything shown on screen or logged (cf. Frigate's clean_camera_user_pass)."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


def scrub_url(text: str) -> str:
    """``rtsp://user:pass@host/x`` -> ``rtsp://***@host/x`` (any number of URLs in ``text``)."""
    return _USERINFO.sub(r"\g<scheme>***@", text)

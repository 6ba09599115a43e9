"""Credential scrubbing for anything shown on screen or logged (cf. Frigate's clean_camera_user_pass).

Scrubbing runs on text from the network (a camera's SOAP fault reason can be megabytes), so
it must stay linear: a URL's scheme may only start where a word starts (no retrying from
every letter of a long run), and user information is at most ``MAX_USERINFO`` characters.
"""

from __future__ import annotations

import re

MAX_USERINFO = 512
_USERINFO = re.compile(
    rf"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{{0,31}}://)[^/@\s]{{0,{MAX_USERINFO}}}@")


def scrub_url(text: str) -> str:
    """``rtsp://user:pass@host/x`` -> ``rtsp://***@host/x`` (any number of URLs in ``text``)."""
    return _USERINFO.sub(r"\g<scheme>***@", text)

"""Authentication as cameras do it: WS-UsernameToken PasswordDigest and HTTP Digest.

A UsernameToken's Created time must be within ``MAX_SKEW`` seconds of the
*device's* clock (skew included), so a client that does not compensate for a
drifting camera clock is refused, as real cameras refuse it. Nonces are
remembered for that window to refuse replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from collections import OrderedDict

from vms.sim.onvif.soap import WsseToken, not_authorized, parse_xs_datetime

MAX_SKEW = 30.0
DIGEST_TYPE = "PasswordDigest"
TEXT_TYPE = "PasswordText"


class NonceCache:
    def __init__(self, window: float = 2 * MAX_SKEW, size: int = 4096) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._window = window
        self._size = size

    def seen(self, nonce: str) -> bool:
        now = time.monotonic()
        while self._seen and (next(iter(self._seen.values())) < now - self._window
                              or len(self._seen) > self._size):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return True
        self._seen[nonce] = now
        return False


def check_wsse(tok: WsseToken, user: str, password: str, device_now: float,
               nonces: NonceCache) -> None:
    """Raise a ``ter:NotAuthorized`` fault unless ``tok`` proves ``user``/``password``."""
    if not hmac.compare_digest(tok.username.encode(), user.encode()):
        raise not_authorized("unknown user or wrong password")
    if tok.password_type.endswith(TEXT_TYPE):
        if not hmac.compare_digest(tok.password.encode(), password.encode()):
            raise not_authorized("unknown user or wrong password")
        return
    if not tok.nonce or not tok.created:
        raise not_authorized("UsernameToken digest needs a Nonce and a Created time")
    try:
        created = parse_xs_datetime(tok.created).timestamp()
        nonce = base64.b64decode(tok.nonce, validate=True)
    except ValueError as exc:
        raise not_authorized(f"unreadable UsernameToken: {exc}") from exc
    skew = created - device_now
    if abs(skew) > MAX_SKEW:
        raise not_authorized(
            f"UsernameToken Created time is {skew:+.0f} s from the device clock "
            f"(allowed ±{MAX_SKEW:.0f} s); read GetSystemDateAndTime and compensate")
    expected = base64.b64encode(
        hashlib.sha1(nonce + tok.created.encode() + password.encode()).digest()).decode()
    if not hmac.compare_digest(expected.encode(), tok.password.encode()):
        raise not_authorized("unknown user or wrong password")
    if nonces.seen(tok.nonce):
        raise not_authorized("UsernameToken nonce was already used (replay refused)")


class HttpDigest:
    """RFC 7616 HTTP Digest (MD5 and SHA-256, qop=auth) with stateless, expiring nonces."""

    LIFETIME = 300.0

    def __init__(self, realm: str) -> None:
        self.realm = realm
        self._key = os.urandom(16)

    def _nonce(self, stamp: int) -> str:
        mac = hmac.new(self._key, str(stamp).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{stamp:x}{mac}"

    def challenge(self, stale: bool = False) -> list[str]:
        nonce = self._nonce(int(time.time()))
        st = ", stale=true" if stale else ""
        return [f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
                f'algorithm={alg}{st}' for alg in ("SHA-256", "MD5")]

    def verify(self, header: str, method: str, user: str, password: str) -> str | None:
        """Return None when valid, else ``"stale"`` or ``"denied"``."""
        if not header.lower().startswith("digest "):
            return "denied"
        p = dict((k.lower(), v1 or v2) for k, v1, v2 in
                 re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header[7:]))
        nonce = p.get("nonce", "")
        try:
            stamp = int(nonce[:-24], 16)
        except ValueError:
            return "denied"
        if not hmac.compare_digest(nonce, self._nonce(stamp)):
            return "denied"
        alg = p.get("algorithm", "MD5").upper()
        hfn = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}.get(alg)
        if hfn is None or p.get("username") != user or p.get("realm") != self.realm:
            return "denied"

        def h(s: str) -> str:
            return hfn(s.encode()).hexdigest()

        ha1 = h(f"{user}:{self.realm}:{password}")
        ha2 = h(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expected = h(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
        else:
            expected = h(f"{ha1}:{nonce}:{ha2}")
        if not hmac.compare_digest(expected, p.get("response", "")):
            return "denied"
        if time.time() - stamp > self.LIFETIME:
            return "stale"
        return None

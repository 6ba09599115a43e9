"""A deliberately small RTSP client for protocol tests: raw requests, raw answers.

Written so tests can do what a library would hide: send the ONVIF backchannel
Require header, read interleaved RTP/RTCP frames, or vanish mid-stream.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass
class Reply:
    code: int
    headers: dict[str, str]
    body: bytes


class RtspClient:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.cseq = 0
        self.url_base = f"rtsp://{host}:{port}"
        self.session: str | None = None
        self.frames: list[tuple[int, bytes]] = []  # interleaved frames read while waiting

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Reply:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", "User-Agent: beacon-tests"]
        if self.session and "Session" not in (headers or {}):
            lines.append(f"Session: {self.session}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            if self.buf.startswith(b"$"):
                self._take_frame()
                continue
            if b"\r\n\r\n" in self.buf:
                head, _, rest = self.buf.partition(b"\r\n\r\n")
                hl = head.decode().split("\r\n")
                hdrs = {k.strip().lower(): v.strip()
                        for k, _, v in (x.partition(":") for x in hl[1:])}
                n = int(hdrs.get("content-length", "0"))
                while len(rest) < n:
                    self._fill()
                    head, _, rest = self.buf.partition(b"\r\n\r\n")
                self.buf = rest[n:]
                reply = Reply(int(hl[0].split()[1]), hdrs, rest[:n])
                if "session" in hdrs:
                    self.session = hdrs["session"].split(";")[0]
                return reply
            self._fill()

    def _take_frame(self) -> tuple[int, bytes] | None:
        while len(self.buf) < 4:
            self._fill()
        n = int.from_bytes(self.buf[2:4], "big")
        while len(self.buf) < 4 + n:
            self._fill()
        frame = (self.buf[1], self.buf[4:4 + n])
        self.buf = self.buf[4 + n:]
        self.frames.append(frame)
        return frame

    def read_frame(self) -> tuple[int, bytes]:
        """The next interleaved frame (channel, payload)."""
        while True:
            if self.buf.startswith(b"$") or not self.buf:
                if not self.buf:
                    self._fill()
                    continue
                frame = self._take_frame()
                assert frame is not None
                return frame
            raise AssertionError(f"unexpected bytes in interleaved stream: {self.buf[:40]!r}")

    def send_frame(self, channel: int, payload: bytes) -> None:
        self.sock.sendall(b"$" + bytes((channel,)) + len(payload).to_bytes(2, "big") + payload)

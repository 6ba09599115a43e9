"""Opening a camera's live stream: the permission check and audit every viewer goes through.

The wall and the incident pane ask ``LiveView.open`` for a stream; it checks that the
user may view that camera, fetches the device password from the keyring (never shown,
never logged) and records ``live.start``; ``close`` records ``live.stop`` with how long.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vms.access.roles import Permission
from vms.access.session import Session
from vms.devices.gate import DeviceGate
from vms.errors import DeviceError
from vms.profile import Profile
from vms.safety.redact import scrub_url
from vms.safety.streamsafe import check_stream_uri, url_to_open


@dataclass
class LiveStream:
    device_id: int
    name: str
    area: str
    quality: str  # "main" | "sub"
    uri: str  # without credentials
    user: str
    password: str = field(repr=False)
    opened: float = field(default_factory=time.monotonic)
    closed: bool = False

    allow_basic: bool = False  # the installer allowed RTSP Basic on plain RTSP for this device

    def url_with_credentials(self) -> str:
        """What a player opens: see ``vms.safety.streamsafe.url_to_open`` (network I/O: not on
        the GUI thread)."""
        return url_to_open(self.uri, self.user, self.password, allow_basic=self.allow_basic)


class LiveView:
    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session
        self.gate = DeviceGate(profile, session)

    def open(self, device_id: int, quality: str = "sub", purpose: str | None = None
             ) -> LiveStream:
        row = self.gate.allowed(device_id, Permission.LIVE_VIEW, "live.start")
        stream = row.stream(quality) if quality in ("main", "sub") else None
        if stream is None or not stream.uri:
            raise DeviceError(f"{row.name} has no {quality} stream")
        check_stream_uri(stream.uri)  # a registry from an older version may hold anything
        user, password = self.gate.login(row)
        detail = {"quality": quality, "uri": scrub_url(stream.uri)}
        if purpose:
            detail["purpose"] = purpose
        self.gate.done("live.start", row, detail)
        return LiveStream(row.id, row.name, row.area, quality, stream.uri, user, password,
                          allow_basic=row.allow_basic_rtsp)

    def open_audio(self, device_id: int) -> LiveStream:
        """The stream carrying the device's microphone (a profile with an audio encoder)."""
        row = self.profile.registry.device(device_id)
        role = next((r for r in ("main", "sub") if (s := row.stream(r)) and s.audio and s.uri),
                    None)
        if role is None:
            self.gate.check(row, Permission.LIVE_VIEW, "listen.start")
            raise DeviceError(f"{row.name} has no microphone: neither its main nor its sub "
                              "stream carries audio")
        return self.open(device_id, role)

    def close(self, stream: LiveStream) -> None:
        if stream.closed:
            return
        stream.closed = True
        row = self.profile.registry.device(stream.device_id)
        self.gate.done("live.stop", row, {"quality": stream.quality,
                                          "seconds": round(time.monotonic() - stream.opened, 1)})

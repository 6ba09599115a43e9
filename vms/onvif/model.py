"""What onboarding learns about a device: plain data, shared by the registry, CLI and UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StreamInfo:
    profile_token: str
    profile_name: str
    encoding: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    uri: str | None = None
    snapshot_uri: str | None = None
    role: str | None = None  # "main" / "sub" once chosen by resolution
    media_version: int = 1
    audio: bool = False
    backchannel: bool = False
    error: str | None = None

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else "?"


@dataclass
class Capabilities:
    services: dict[str, str] = field(default_factory=dict)  # namespace -> XAddr
    media2: bool = False
    ptz: bool = False
    events: bool = False
    pullpoint: bool = False
    deviceio: bool = False
    digital_inputs: list[str] = field(default_factory=list)
    relay_outputs: list[str] = field(default_factory=list)
    input_connectors: int = 0  # from GetCapabilities when DeviceIO is absent
    relay_count: int = 0
    audio_sources: int = 0
    audio_outputs: int = 0
    backchannel: bool = False

    def summary(self) -> list[str]:
        out = []
        if self.ptz:
            out.append("PTZ")
        if self.events:
            out.append("events (pull point)" if self.pullpoint else "events")
        inputs = len(self.digital_inputs) or self.input_connectors
        relays = len(self.relay_outputs) or self.relay_count
        if inputs:
            out.append(f"{inputs} digital input(s)")
        if relays:
            out.append(f"{relays} relay output(s)")
        if self.audio_sources:
            out.append("audio in")
        if self.audio_outputs:
            out.append("audio out")
        if self.backchannel:
            out.append("talk-back (backchannel)")
        if self.media2:
            out.append("Media2")
        return out


class HasStreams:
    """Shared by what onboarding reports and what the registry holds (both dataclasses)."""

    streams: list[StreamInfo]
    capabilities: Capabilities

    def stream(self, role: str) -> StreamInfo | None:
        return next((s for s in self.streams if s.role == role), None)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)  # type: ignore[call-overload]
        d["main_uri"] = s.uri if (s := self.stream("main")) else None
        d["sub_uri"] = s.uri if (s := self.stream("sub")) else None
        d["capability_summary"] = self.capabilities.summary()
        return d


@dataclass
class DeviceReport(HasStreams):
    """One device as onboarding found it. Never holds a password."""

    address: str  # device service URL as we reached it
    host: str
    port: int
    user: str
    endpoint_ref: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    hardware_id: str | None = None
    clock_offset_s: float | None = None
    auth_method: str = "ws-security"
    streams: list[StreamInfo] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)
    warnings: list[str] = field(default_factory=list)
    name: str | None = None
    location: str | None = None


def choose_roles(streams: list[StreamInfo]) -> None:
    """Main = the largest stream with a URI, sub = the smallest other one (as operators expect)."""
    usable = sorted((s for s in streams if s.uri), key=lambda s: s.pixels, reverse=True)
    for s in streams:
        s.role = None
    if usable:
        usable[0].role = "main"
    if len(usable) > 1:
        usable[-1].role = "sub"


def describe_offset(seconds: float) -> str:
    ahead = "ahead of" if seconds > 0 else "behind"
    s = abs(seconds)
    if s < 120:
        span = f"{s:.0f} s"
    elif s < 2 * 86400:
        span = f"{s / 60:.0f} min"
    else:
        span = f"{s / 86400:.0f} days"
    return f"{span} {ahead}"

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


WORKED, FAILED, NOT_TRIED = "worked", "failed", "not tried"


@dataclass
class CapabilityCheck:
    """One line of a device's capability table: what it claims, and what happened when tried.

    Cameras claim what they do not do and do what they do not claim; the installer needs
    both columns to know whether a Help Point will really ring, talk and light up.
    """

    feature: str
    claimed: bool | None  # None: the device said nothing either way
    result: str = NOT_TRIED  # WORKED, FAILED or NOT_TRIED
    detail: str = ""

    @property
    def claim_text(self) -> str:
        return {True: "yes", False: "no", None: "not said"}[self.claimed]


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
    checks: list[CapabilityCheck] = field(default_factory=list)
    event_method: str = ""  # how events are subscribed: "PullPoint", "WS-BaseNotification" or ""

    def check(self, feature: str) -> CapabilityCheck | None:
        return next((c for c in self.checks if c.feature == feature), None)

    def summary(self) -> list[str]:
        out = []
        if self.ptz:
            out.append("PTZ")
        if self.events:
            method = {"PullPoint": "pull point"}.get(self.event_method, self.event_method)
            out.append(f"events ({method})" if method else
                       "events (pull point)" if self.pullpoint else "events")
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


IN_STEP_S = 1.0  # closer than this, a person would call two clocks in step


def describe_offset(seconds: float) -> str:
    """A device clock's offset from this computer's, worded for a person (positive: ahead):
    "in step with this computer (0.2 s behind)", "95 s behind this computer",
    "2 min 5 s ahead of this computer", "3 h 10 min behind this computer", "3 days behind..."."""
    s = abs(seconds)
    if round(s, 1) < IN_STEP_S:
        if round(s, 1) == 0:
            return "in step with this computer"
        return f"in step with this computer ({s:.1f} s {'ahead' if seconds > 0 else 'behind'})"
    ahead = "ahead of" if seconds > 0 else "behind"
    whole = round(s)
    if whole < 120:  # "95 s" reads more easily than "1 min 35 s"
        span = f"{whole} s"
    elif whole < 3600:
        m, sec = divmod(whole, 60)
        span = f"{m} min" + (f" {sec} s" if sec else "")
    elif whole < 2 * 86400:
        h, m = divmod(round(s / 60), 60)
        span = f"{h} h" + (f" {m} min" if m else "")
    else:
        span = f"{s / 86400:.0f} days"
    return f"{span} {ahead} this computer"

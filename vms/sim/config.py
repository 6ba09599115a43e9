"""Sizing of a simulated site: flags or a small TOML file."""

from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from vms.errors import ConfigError

DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "beacon-sim"
DEFAULT_BASE_PORT = 10080
DEFAULT_RTSP_BASE_PORT = 10554
DEFAULT_CONTROL_PORT = 10079
DISCOVERY_PORT = 3702


# Field deviations a device can imitate, each off by default (ONVIF conformance tests turn them
# on one at a time): real cameras are less conforming than the spec, and the client must cope.
DEVIATIONS = {
    "no_pullpoint": "no PullPoint: WSPullPointSupport=false; events by WS-BaseNotification only",
    "state_name": "DigitalInput and Relay events carry State instead of LogicalState",
    "undeclared_prefix": "PTZ replies use the tptz prefix without declaring its namespace",
    "no_probematches_wrapper": "WS-Discovery replies put ProbeMatch straight in the Body",
    "rtsp_basic": "RTSP asks for the password with Basic authentication only (clear text)",
}


class DeviceKind(StrEnum):
    CAMERA = "camera"
    HELP_POINT = "help_point"
    PID = "pid"


_LOCATIONS = {
    DeviceKind.CAMERA: ["Market Square", "Bus Station", "High Street", "Riverside Car Park"],
    DeviceKind.HELP_POINT: ["Station Approach", "Town Hall Steps"],
    DeviceKind.PID: ["12 Elm Road", "7 Mill Lane"],
}
_PREFIX = {DeviceKind.CAMERA: "cam", DeviceKind.HELP_POINT: "hp", DeviceKind.PID: "pid"}


@dataclass
class DeviceConfig:
    name: str
    kind: DeviceKind
    location: str
    clock_offset: float = 0.0
    # "any": WS-UsernameToken or HTTP Digest; "digest": HTTP Digest only (WS-Security ignored,
    # as some firmwares do), to exercise clients' Digest fallback.
    auth: str = "any"
    # Town-centre cameras are PTZ domes and loaned PID cameras steer too; Help Points do not.
    # None: by kind.
    ptz: bool | None = None
    http_port: int = 0
    rtsp_port: int = 0
    deviations: frozenset[str] = frozenset()  # names from DEVIATIONS

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"device name {self.name!r}: use letters, digits, - and _ only")
        if self.auth not in ("any", "digest"):
            raise ConfigError(f"device {self.name}: auth must be \"any\" or \"digest\"")
        unknown = set(self.deviations) - set(DEVIATIONS)
        if unknown:
            raise ConfigError(f"device {self.name}: unknown deviations {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(sorted(DEVIATIONS))})")
        self.deviations = frozenset(self.deviations)

    def deviates(self, name: str) -> bool:
        """Whether this device imitates the field deviation ``name`` (see DEVIATIONS)."""
        assert name in DEVIATIONS, name
        return name in self.deviations


@dataclass
class SiteConfig:
    name: str = "Beacon simulated site"
    host: str = "127.0.0.1"
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    base_port: int = DEFAULT_BASE_PORT
    rtsp_base_port: int = DEFAULT_RTSP_BASE_PORT
    control_port: int = DEFAULT_CONTROL_PORT
    discovery_port: int | None = DISCOVERY_PORT  # None: no WS-Discovery
    rtsp_auth: bool = False
    fps: int = 10
    devices: list[DeviceConfig] = field(default_factory=list)

    def device_uuid(self, device: DeviceConfig) -> str:
        """A stable endpoint reference per site and device name."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"beacon-sim:{self.name}:{device.name}"))

    def assign_ports(self) -> None:
        """Give each device its ports; base ports of 0 mean "let the OS choose"."""
        for i, dev in enumerate(self.devices):
            if not dev.http_port:
                dev.http_port = self.base_port + i if self.base_port else 0
            if not dev.rtsp_port:
                dev.rtsp_port = self.rtsp_base_port + i if self.rtsp_base_port else 0


def make_devices(cameras: int, help_points: int, pids: int) -> list[DeviceConfig]:
    out: list[DeviceConfig] = []
    for kind, count in ((DeviceKind.CAMERA, cameras), (DeviceKind.HELP_POINT, help_points),
                        (DeviceKind.PID, pids)):
        if count < 0:
            raise ConfigError(f"number of {kind.value} devices cannot be negative")
        names = _LOCATIONS[kind]
        for i in range(count):
            loc = names[i % len(names)] + ("" if i < len(names) else f" {i // len(names) + 1}")
            out.append(DeviceConfig(name=f"{_PREFIX[kind]}{i + 1}", kind=kind, location=loc))
    if not out:
        raise ConfigError("a simulated site needs at least one device")
    return out


def load_toml(path: Path, site: SiteConfig) -> SiteConfig:
    """Overlay a TOML file on ``site``.

    Either counts (``cameras``, ``help_points``, ``pid``) or explicit ``[[device]]``
    tables with ``name``, ``kind``, ``location``, ``clock_offset``, ``auth``, ``ptz`` and
    ``deviations`` (a list of names from ``DEVIATIONS``).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    s = data.get("site", {})
    known = {"name", "user", "password", "base_port", "rtsp_base_port", "control_port",
             "discovery_port", "rtsp_auth", "fps", "host"}
    unknown = set(s) - known
    if unknown:
        raise ConfigError(f"{path}: unknown [site] keys: {', '.join(sorted(unknown))}")
    for key, value in s.items():
        setattr(site, key, value)
    if "device" in data:
        devs = []
        for entry in data["device"]:
            try:
                kind = DeviceKind(entry.get("kind", "camera"))
                devs.append(DeviceConfig(name=str(entry["name"]), kind=kind,
                                         location=str(entry.get("location", "")),
                                         clock_offset=float(entry.get("clock_offset", 0.0)),
                                         auth=str(entry.get("auth", "any")),
                                         ptz=None if "ptz" not in entry else bool(entry["ptz"]),
                                         deviations=frozenset(_names(entry.get("deviations", [])))))
            except (KeyError, ValueError) as exc:
                raise ConfigError(f"{path}: bad [[device]] entry {entry!r}: {exc}") from exc
        site.devices = devs
    elif any(k in data for k in ("cameras", "help_points", "pid")):
        site.devices = make_devices(int(data.get("cameras", 0)), int(data.get("help_points", 0)),
                                    int(data.get("pid", 0)))
    names = [d.name for d in site.devices]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: device names must be unique")
    return site


def _names(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("deviations must be a list of names")
    return value

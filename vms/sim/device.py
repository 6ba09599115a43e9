"""State of one simulated device: clock, I/O, PID alarms, PTZ, configuration, events.

All methods run on the simulator's asyncio loop thread; nothing here blocks.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vms.sim.config import DeviceConfig, DeviceKind, SiteConfig

# Topics as ONVIF writes them (tns1 = http://www.onvif.org/ver10/topics).
TOPIC_DIGITAL_INPUT = "tns1:Device/Trigger/DigitalInput"
TOPIC_RELAY = "tns1:Device/Trigger/Relay"
TOPIC_FIELD = "tns1:RuleEngine/FieldDetector/ObjectsInside"
TOPIC_LINE = "tns1:RuleEngine/LineDetector/Crossed"
TOPIC_MOTION = "tns1:VideoSource/MotionAlarm"

INPUT_TOKEN = "DI_0"
RELAY_TOKEN = "RO_0"
VIDEO_SOURCE = "VS_0"
VIDEO_SOURCE_CONFIG = "VSC_0"
ANALYTICS_CONFIG = "VAC_0"
FIELD_RULE = "Perimeter"
LINE_RULE = "Boundary line"


@dataclass
class Notification:
    topic: str
    utc: datetime
    source: list[tuple[str, str]]
    data: list[tuple[str, str]]
    property_op: str | None = None  # Initialized | Changed | Deleted; None for pulse events


@dataclass
class StreamProfile:
    token: str
    name: str
    width: int
    height: int
    fps: int
    bitrate_kbps: int
    gov_length: int
    quality: float = 5.0
    path: str = ""

    @property
    def encoder_token(self) -> str:
        return f"VEC_{self.token}"


@dataclass
class Preset:
    token: str
    name: str
    pan: float
    tilt: float
    zoom: float


@dataclass
class PtzState:
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0
    vel: tuple[float, float, float] = (0.0, 0.0, 0.0)
    since: float = 0.0  # monotonic time of the last state change
    until: float | None = None  # monotonic deadline of a timed move
    presets: dict[str, Preset] = field(default_factory=dict)
    # An absolute or relative move in progress: where each axis is heading (None: that axis
    # is not), and at what rate in space units a second.
    target: tuple[float | None, float | None, float | None] = (None, None, None)
    rate: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def settle(self, now: float) -> None:
        """Integrate the current move up to ``now`` (clamped to the PTZ spaces)."""
        end = now if self.until is None else min(now, self.until)
        dt = max(0.0, end - self.since)
        if any(self.vel):
            self.pan = _clamp(self.pan + self.vel[0] * dt * 0.5, -1.0, 1.0)
            self.tilt = _clamp(self.tilt + self.vel[1] * dt * 0.5, -1.0, 1.0)
            self.zoom = _clamp(self.zoom + self.vel[2] * dt * 0.5, 0.0, 1.0)
        if any(t is not None for t in self.target):
            step = max(0.0, now - self.since)
            pos = [self.pan, self.tilt, self.zoom]
            goal = list(self.target)
            for i, t in enumerate(goal):
                if t is None:
                    continue
                d = t - pos[i]
                pos[i] = t if abs(d) <= self.rate[i] * step else pos[i] + self.rate[i] * step * (
                    1 if d > 0 else -1)
                if pos[i] == t:
                    goal[i] = None
            self.pan, self.tilt, self.zoom = pos
            self.target = (goal[0], goal[1], goal[2])
        self.since = now
        if self.until is not None and now >= self.until:
            self.vel = (0.0, 0.0, 0.0)
            self.until = None

    @property
    def moving(self) -> bool:
        return any(self.vel) or self.pan_tilt_moving or self.zoom_moving

    @property
    def pan_tilt_moving(self) -> bool:
        """MoveStatus of pan/tilt: a continuous move or a move to a position still under way."""
        return bool(self.vel[0] or self.vel[1]) or self.target[0] is not None \
            or self.target[1] is not None

    @property
    def zoom_moving(self) -> bool:
        return bool(self.vel[2]) or self.target[2] is not None


def _clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


Listener = Callable[[Notification], None]


class SimDevice:
    def __init__(self, cfg: DeviceConfig, site: SiteConfig) -> None:
        self.cfg = cfg
        self.site = site
        self.uuid = site.device_uuid(cfg)
        self.online = True
        self.clock_offset = cfg.clock_offset
        self.hostname = cfg.name
        self.ntp_servers: list[str] = ["pool.ntp.org"]
        self.ntp_from_dhcp = False
        self.time_manual = False
        self.fixed_scopes = [
            "onvif://www.onvif.org/Profile/Streaming",
            "onvif://www.onvif.org/Profile/T",
            f"onvif://www.onvif.org/hardware/{self.model}",
            "onvif://www.onvif.org/type/video_encoder",
        ]
        if cfg.kind == DeviceKind.HELP_POINT:
            self.fixed_scopes.append("onvif://www.onvif.org/type/audio_encoder")
        if self.has_ptz:
            self.fixed_scopes.append("onvif://www.onvif.org/type/ptz")
        self.scopes = [
            f"onvif://www.onvif.org/name/{cfg.name}",
            f"onvif://www.onvif.org/location/{cfg.location.replace(' ', '_')}",
        ]
        fps = site.fps
        self.profiles = [
            StreamProfile("main", "MainStream", 1280, 720, fps, 1024, fps, path="main"),
            StreamProfile("sub", "SubStream", 640, 360, fps, 256, fps, path="sub"),
        ]
        self.inputs = {INPUT_TOKEN: False} if self.is_help_point else {}
        self.relays = {RELAY_TOKEN: False} if self.is_help_point else {}
        self.objects_inside = False
        self.motion = False
        self.ptz = PtzState(since=time.monotonic()) if self.has_ptz else None
        self._listeners: list[Listener] = []
        self._clear_timer: asyncio.TimerHandle | None = None
        self._object_ids = itertools.count(1)
        self.events_emitted = 0
        self.flood_sent = 0
        self.rtsp_basic_received = 0  # RTSP requests that carried the password in clear text
        self._flood: asyncio.Task[None] | None = None
        self.http_port = cfg.http_port
        self.rtsp_port = cfg.rtsp_port

    # -- identity -------------------------------------------------------
    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def kind(self) -> DeviceKind:
        return self.cfg.kind

    @property
    def is_help_point(self) -> bool:
        return self.cfg.kind == DeviceKind.HELP_POINT

    @property
    def is_pid(self) -> bool:
        return self.cfg.kind == DeviceKind.PID

    @property
    def has_ptz(self) -> bool:
        if self.cfg.ptz is not None:
            return self.cfg.ptz
        return self.cfg.kind in (DeviceKind.CAMERA, DeviceKind.PID)

    @property
    def model(self) -> str:
        return {DeviceKind.CAMERA: "BeaconSim-Cam", DeviceKind.HELP_POINT: "BeaconSim-HelpPoint",
                DeviceKind.PID: "BeaconSim-PID"}[self.cfg.kind]

    @property
    def serial(self) -> str:
        return self.uuid.split("-")[0].upper()

    @property
    def mac(self) -> str:
        h = self.uuid.replace("-", "")[:12]
        return ":".join(h[i:i + 2] for i in range(0, 12, 2))

    @property
    def http_base(self) -> str:
        return f"http://{self.site.host}:{self.http_port}"

    @property
    def xaddr(self) -> str:
        return f"{self.http_base}/onvif/device_service"

    def rtsp_uri(self, profile: StreamProfile) -> str:
        return f"rtsp://{self.site.host}:{self.rtsp_port}/{profile.path}"

    def profile(self, token: str) -> StreamProfile | None:
        return next((p for p in self.profiles if p.token == token), None)

    # -- clock ----------------------------------------------------------
    def now(self) -> float:
        """The device's own wall clock (POSIX seconds), skew included."""
        return time.time() + self.clock_offset

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    # -- events ---------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, n: Notification) -> None:
        self.events_emitted += 1
        for listener in list(self._listeners):
            listener(n)

    def property_states(self) -> list[Notification]:
        """Current state of every property topic, as ``Initialized`` messages."""
        now = self.utcnow()
        out = [self._input_msg(tok, st, now, "Initialized") for tok, st in self.inputs.items()]
        out += [self._relay_msg(tok, st, now, "Initialized") for tok, st in self.relays.items()]
        if self.is_pid:
            out.append(self._field_msg(self.objects_inside, now, "Initialized"))
            out.append(self._motion_msg(self.motion, now, "Initialized"))
        return out

    @property
    def state_item(self) -> str:
        """The data item of input and relay events: some firmwares write ``State``."""
        return "State" if self.cfg.deviates("state_name") else "LogicalState"

    def _input_msg(self, tok: str, st: bool, now: datetime, op: str) -> Notification:
        return Notification(TOPIC_DIGITAL_INPUT, now, [("InputToken", tok)],
                            [(self.state_item, _b(st))], op)

    def _relay_msg(self, tok: str, st: bool, now: datetime, op: str) -> Notification:
        return Notification(TOPIC_RELAY, now, [("RelayToken", tok)],
                            [(self.state_item, "active" if st else "inactive")], op)

    def _field_msg(self, inside: bool, now: datetime, op: str) -> Notification:
        return Notification(TOPIC_FIELD, now, [
            ("VideoSourceConfigurationToken", VIDEO_SOURCE_CONFIG),
            ("VideoAnalyticsConfigurationToken", ANALYTICS_CONFIG), ("Rule", FIELD_RULE)],
            [("IsInside", _b(inside))], op)

    def _motion_msg(self, state: bool, now: datetime, op: str) -> Notification:
        return Notification(TOPIC_MOTION, now, [("Source", VIDEO_SOURCE)],
                            [("State", _b(state))], op)

    def set_input(self, state: bool, token: str = INPUT_TOKEN) -> None:
        if token not in self.inputs:
            raise KeyError(f"{self.name} has no digital input {token}")
        if self.inputs[token] == state:
            return
        self.inputs[token] = state
        self._emit(self._input_msg(token, state, self.utcnow(), "Changed"))

    def set_relay(self, state: bool, token: str = RELAY_TOKEN) -> None:
        if token not in self.relays:
            raise KeyError(f"{self.name} has no relay output {token}")
        if self.relays[token] == state:
            return
        self.relays[token] = state
        self._emit(self._relay_msg(token, state, self.utcnow(), "Changed"))

    def intrude(self, duration: float, send_off: bool = True) -> None:
        """Someone crosses the line into the field: Crossed, ObjectsInside and motion.

        After ``duration`` seconds the object leaves; with ``send_off=False`` the
        device never says so, as real devices sometimes fail to.
        """
        if not self.is_pid:
            raise KeyError(f"{self.name} is not a perimeter-intrusion camera")
        now = self.utcnow()
        self._emit(Notification(TOPIC_LINE, now, [
            ("VideoSourceConfigurationToken", VIDEO_SOURCE_CONFIG),
            ("VideoAnalyticsConfigurationToken", ANALYTICS_CONFIG), ("Rule", LINE_RULE)],
            [("ObjectId", str(next(self._object_ids)))]))
        if not self.objects_inside:
            self.objects_inside = True
            self._emit(self._field_msg(True, now, "Changed"))
        if not self.motion:
            self.motion = True
            self._emit(self._motion_msg(True, now, "Changed"))
        if self._clear_timer:
            self._clear_timer.cancel()
        loop = asyncio.get_running_loop()
        self._clear_timer = loop.call_later(duration, self._clear_intrusion, send_off)

    def _clear_intrusion(self, send_off: bool) -> None:
        self._clear_timer = None
        now = self.utcnow()
        if self.objects_inside:
            self.objects_inside = False
            if send_off:
                self._emit(self._field_msg(False, now, "Changed"))
        if self.motion:
            self.motion = False
            if send_off:
                self._emit(self._motion_msg(False, now, "Changed"))

    def flood(self, rate: float, duration: float) -> None:
        """Motion on, off, on, ... at ``rate`` messages a second for ``duration`` seconds.

        Load for a client's event path: every message is a real state change (nothing a
        client may drop as a duplicate), counted in ``flood_sent`` so a test can compare
        what was sent with what was stored. A new flood replaces a running one.
        """
        if not 0 < rate <= 1000 or not 0 < duration <= 24 * 3600:
            raise ValueError("rate must be 0-1000 a second and duration 0-86400 s")
        if self._flood is not None:
            self._flood.cancel()
        self._flood = asyncio.get_running_loop().create_task(self._run_flood(rate, duration))

    async def _run_flood(self, rate: float, duration: float) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = int(rate * duration)
        for i in range(n):
            delay = start + i / rate - loop.time()
            if delay > 0:  # paced against the start, so a late wake-up does not slow the rate
                await asyncio.sleep(delay)
            self.motion = not self.motion
            self.flood_sent += 1
            self._emit(self._motion_msg(self.motion, self.utcnow(), "Changed"))
        self._flood = None

    # -- PTZ -------------------------------------------------------------
    def ptz_state(self) -> PtzState:
        if self.ptz is None:
            raise KeyError(f"{self.name} has no PTZ")
        self.ptz.settle(time.monotonic())
        return self.ptz

    def ptz_move(self, pan: float, tilt: float, zoom: float, timeout: float | None) -> None:
        st = self.ptz_state()
        st.vel = (_clamp(pan, -1, 1), _clamp(tilt, -1, 1), _clamp(zoom, -1, 1))
        st.until = None if timeout is None else time.monotonic() + timeout
        st.target = (None, None, None)

    def ptz_stop(self, pan_tilt: bool = True, zoom: bool = True) -> None:
        st = self.ptz_state()
        st.vel = (0.0 if pan_tilt else st.vel[0], 0.0 if pan_tilt else st.vel[1],
                  0.0 if zoom else st.vel[2])
        st.target = (None if pan_tilt else st.target[0], None if pan_tilt else st.target[1],
                     None if zoom else st.target[2])
        if not st.moving:
            st.until = None

    def ptz_goto(self, pan: float, tilt: float, zoom: float) -> None:
        st = self.ptz_state()
        st.pan, st.tilt, st.zoom = pan, tilt, zoom
        st.vel, st.until = (0.0, 0.0, 0.0), None
        st.target = (None, None, None)

    def ptz_move_to(self, pan: float | None, tilt: float | None, zoom: float | None,
                    speed: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> None:
        """Head for a position (an AbsoluteMove, or a RelativeMove already added up); None
        leaves that axis where it is. ``speed`` is the generic speed space (0..1 of the
        fastest, which crosses the whole pan range in 2 s); a speed of 0 does not move."""
        st = self.ptz_state()
        st.vel, st.until = (0.0, 0.0, 0.0), None
        st.target = (None if pan is None else _clamp(pan, -1.0, 1.0),
                     None if tilt is None else _clamp(tilt, -1.0, 1.0),
                     None if zoom is None else _clamp(zoom, 0.0, 1.0))
        st.rate = (_clamp(speed[0], 0.0, 1.0), _clamp(speed[1], 0.0, 1.0),
                   _clamp(speed[2], 0.0, 1.0) * 0.5)

    # -- reporting ---------------------------------------------------------
    def status(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name, "kind": self.kind.value, "location": self.cfg.location,
            "model": self.model, "uuid": self.uuid, "online": self.online,
            "onvif": self.xaddr, "http_port": self.http_port, "rtsp_port": self.rtsp_port,
            "streams": {p.token: self.rtsp_uri(p) for p in self.profiles},
            "clock_offset": self.clock_offset,
            "events_emitted": self.events_emitted, "flood_sent": self.flood_sent,
            "flooding": self._flood is not None,
            "rtsp_basic_received": self.rtsp_basic_received,
        }
        if self.is_help_point:
            out["button_pressed"] = self.inputs[INPUT_TOKEN]
            out["blue_light"] = self.relays[RELAY_TOKEN]
        if self.is_pid:
            out["objects_inside"] = self.objects_inside
            out["motion"] = self.motion
        if self.ptz is not None:
            st = self.ptz_state()
            out["ptz"] = {"pan": round(st.pan, 4), "tilt": round(st.tilt, 4),
                          "zoom": round(st.zoom, 4), "moving": st.moving}
        return out


def _b(v: bool) -> str:
    return "true" if v else "false"

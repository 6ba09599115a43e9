"""Cameras linked to a Help Point (or any device), and calling up their PTZ presets.

A Help Point's own camera shows the caller's face; the street domes around it show
where they are and who is coming. An installer links those cameras once, each with
the preset that looks at the Help Point, and when a call is accepted they all swing
there. Linking checks that the preset exists on the camera, so a typo is caught at
commissioning and not in the middle of a call.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from vms.access.roles import Permission
from vms.access.session import Session
from vms.devices.gate import DeviceGate
from vms.devices.ptz import PtzControl, PtzPreset
from vms.errors import ConfigError, DeviceError, ProtocolError, VmsError
from vms.profile import Profile
from vms.store.devices import DeviceRow, LinkRow

PRESET_TIMEOUT_S = 10.0
MAX_LINKS = 8  # what an incident pane can show next to the caller's video


@dataclass(frozen=True)
class CallUp:
    """What one linked camera did when its preset was called up."""

    camera_id: int
    camera: str
    preset: str
    ok: bool
    detail: str


def _find(presets: list[PtzPreset], wanted: str) -> PtzPreset | None:
    """By token first, then by name (ignoring case): installers type names."""
    for p in presets:
        if p.token == wanted:
            return p
    key = wanted.strip().casefold()
    return next((p for p in presets if p.name.strip().casefold() == key), None)


class CameraLinks:
    def __init__(self, profile: Profile, session: Session, ptz: PtzControl | None = None) -> None:
        self.profile = profile
        self.session = session
        self.registry = profile.registry
        self.access = profile.access
        self.gate = DeviceGate(profile, session)
        self._own_ptz = ptz is None
        self.ptz = ptz or PtzControl(profile, session)

    def close(self, wait: float = 5.0) -> concurrent.futures.Future[None] | None:
        """See ``PtzControl.close``."""
        return self.ptz.close(wait) if self._own_ptz else None

    # -- reading -----------------------------------------------------------------------
    def links(self, device_id: int) -> list[LinkRow]:
        """The device's linked cameras that this user may see, in the installer's order."""
        rows = self.registry.links(device_id)
        if not rows:
            return []
        visible = {d.id for d in self.access.visible(self.session, self.registry.devices())}
        return [r for r in rows if r.camera_id in visible]

    def presets(self, camera_id: int) -> list[PtzPreset]:
        """The camera's presets, asked of the camera (blocking: workers and the CLI only)."""
        return self.ptz.presets(camera_id).result(PRESET_TIMEOUT_S)

    # -- changing -----------------------------------------------------------------------
    def _check(self, device_id: int, camera_id: int, action: str) -> tuple[DeviceRow, DeviceRow]:
        dev = self.gate.allowed(device_id, Permission.DEVICE_CONFIGURE, action)
        cam = self.gate.allowed(camera_id, Permission.DEVICE_CONFIGURE, action)
        return dev, cam

    def link(self, device_id: int, camera_id: int, preset: str | None = None) -> LinkRow:
        """Link ``camera_id`` to ``device_id``, with the preset named (or token) ``preset``."""
        if device_id == camera_id:
            raise ConfigError("a device cannot be linked to itself")
        dev, cam = self._check(device_id, camera_id, "device.link")
        if cam.stream("main") is None and cam.stream("sub") is None:
            raise DeviceError(f"{cam.name} has no video stream to show")
        known = {r.camera_id for r in self.registry.links(device_id)}
        if camera_id not in known and len(known) >= MAX_LINKS:
            raise ConfigError(f"{dev.name} already has {MAX_LINKS} linked cameras, the most a "
                              f"call can show; unlink one first")
        found: PtzPreset | None = None
        if preset:
            if not cam.capabilities.ptz:
                raise DeviceError(f"{cam.name} cannot steer (no PTZ service): link it without a "
                                  f"preset")
            have = self.presets(camera_id)
            found = _find(have, preset)
            if found is None:
                names = ", ".join(p.name for p in have) or "none"
                raise DeviceError(f"{cam.name} has no preset named '{preset}' (it has: {names})")
        self.registry.set_link(device_id, camera_id, found.token if found else None,
                               found.name if found else None, self.session.user)
        self.gate.done("device.link", dev, {"camera": cam.name, "camera_id": cam.id,
                                            "preset": found.name if found else None})
        return next(r for r in self.registry.links(device_id) if r.camera_id == camera_id)

    def unlink(self, device_id: int, camera_id: int) -> None:
        dev, cam = self._check(device_id, camera_id, "device.unlink")
        if not self.registry.remove_link(device_id, camera_id):
            raise ConfigError(f"{cam.name} is not linked to {dev.name}")
        self.gate.done("device.unlink", dev, {"camera": cam.name, "camera_id": cam.id})

    # -- during a call ------------------------------------------------------------------------
    def call_up(self, device_id: int, only: int | None = None) -> list[CallUp]:
        """Send every linked camera with a preset (or just ``only``) there, all at once.

        Blocking, for a worker thread. One camera failing (offline, not allowed, preset
        gone) is reported for that camera and does not stop the others.
        """
        links = [r for r in self.links(device_id)
                 if r.preset_token and (only is None or r.camera_id == only)]
        started: list[tuple[LinkRow, concurrent.futures.Future[object] | VmsError]] = []
        for r in links:
            assert r.preset_token is not None
            try:
                started.append((r, self.ptz.go_to(
                    r.camera_id, PtzPreset(r.preset_token, r.preset_name or r.preset_token))))
            except VmsError as exc:  # refused before anything was sent
                started.append((r, exc))
        out: list[CallUp] = []
        for r, fut in started:
            preset = r.preset_name or r.preset_token or ""
            try:
                if isinstance(fut, VmsError):
                    raise fut
                try:
                    fut.result(PRESET_TIMEOUT_S)
                except ProtocolError as exc:
                    if "NoToken" not in exc.codes:
                        raise
                    self._retry_by_name(r)
                out.append(CallUp(r.camera_id, r.camera, preset, True, f"moved to {preset}"))
            except (VmsError, concurrent.futures.TimeoutError) as exc:
                why = str(exc) or "the camera did not answer in time"
                out.append(CallUp(r.camera_id, r.camera, preset, False, why))
        return out

    def _retry_by_name(self, r: LinkRow) -> None:
        """The camera forgot the token (presets re-made): find the preset by name, keep it."""
        found = _find(self.presets(r.camera_id), r.preset_name or "")
        if found is None:
            raise DeviceError(f"{r.camera} no longer has the preset '{r.preset_name}'")
        self.ptz.go_to(r.camera_id, found).result(PRESET_TIMEOUT_S)
        self.registry.refresh_preset_token(r.device_id, r.camera_id, found.token)

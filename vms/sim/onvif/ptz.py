"""PTZ service (ver20/ptz) for the PID cameras, in the generic ONVIF spaces.

Positions integrate the commanded velocity over time (half the range per second
at full speed), clamped to pan/tilt [-1, 1] and zoom [0, 1].
"""

from __future__ import annotations

import itertools

from vms.sim.device import Preset, SimDevice
from vms.sim.onvif.media import PTZ_NODE, _ptz_cfg
from vms.sim.onvif.soap import (
    SoapFault,
    SoapRequest,
    el,
    invalid_arg,
    no_profile,
    parse_duration,
    xs_datetime,
)

PT_POS = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
Z_POS = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"
MAX_PRESETS = 32
_preset_ids = itertools.count(1)


def _check_profile(dev: SimDevice, req: SoapRequest) -> None:
    tok = req.require("tptz:ProfileToken")
    if dev.profile(tok) is None:
        raise no_profile(tok)


def _f(node_text: str | None, default: float = 0.0) -> float:
    try:
        return float(node_text) if node_text is not None else default
    except ValueError as exc:
        raise invalid_arg(f"not a number: {node_text!r}") from exc


def _position(pan: float, tilt: float, zoom: float, tag: str) -> str:
    return el(tag, [el("tt:PanTilt", "", x=round(pan, 5), y=round(tilt, 5), space=PT_POS),
                    el("tt:Zoom", "", x=round(zoom, 5), space=Z_POS)])


def continuous_move(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    pt = req.find("tptz:Velocity/tt:PanTilt")
    z = req.find("tptz:Velocity/tt:Zoom")
    timeout = req.text("tptz:Timeout")
    dev.ptz_move(_f(pt.get("x")) if pt is not None else 0.0,
                 _f(pt.get("y")) if pt is not None else 0.0,
                 _f(z.get("x")) if z is not None else 0.0,
                 parse_duration(timeout) if timeout else None)
    return el("tptz:ContinuousMoveResponse")


def stop(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    pt = (req.text("tptz:PanTilt", "true") or "true").lower() == "true"
    z = (req.text("tptz:Zoom", "true") or "true").lower() == "true"
    dev.ptz_stop(pt, z)
    return el("tptz:StopResponse")


def get_status(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    st = dev.ptz_state()
    move = "MOVING" if st.moving else "IDLE"
    return el("tptz:GetStatusResponse", el("tptz:PTZStatus", [
        _position(st.pan, st.tilt, st.zoom, "tt:Position"),
        el("tt:MoveStatus", [el("tt:PanTilt", move if any(st.vel[:2]) else "IDLE"),
                             el("tt:Zoom", move if st.vel[2] else "IDLE")]),
        el("tt:UtcTime", xs_datetime(dev.utcnow()))]))


def get_presets(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    st = dev.ptz_state()
    return el("tptz:GetPresetsResponse", [
        el("tptz:Preset", [el("tt:Name", p.name), _position(p.pan, p.tilt, p.zoom, "tt:PTZPosition")],
           token=p.token) for p in st.presets.values()])


def set_preset(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    st = dev.ptz_state()
    tok = req.text("tptz:PresetToken")
    name = req.text("tptz:PresetName")
    if tok and tok not in st.presets:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoToken"], f"no preset {tok!r}")
    if not tok:
        if len(st.presets) >= MAX_PRESETS:
            raise SoapFault("Receiver", ["ter:Action", "ter:TooManyPresets"],
                            f"at most {MAX_PRESETS} presets")
        tok = f"preset{next(_preset_ids)}"
    if name and any(p.name == name and p.token != tok for p in st.presets.values()):
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:PresetExist"],
                        f"a preset named {name!r} exists")
    if st.moving:
        raise SoapFault("Receiver", ["ter:Action", "ter:MovingPTZ"],
                        "cannot save a preset while the camera moves")
    st.presets[tok] = Preset(tok, name or tok, st.pan, st.tilt, st.zoom)
    return el("tptz:SetPresetResponse", el("tptz:PresetToken", tok))


def goto_preset(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    st = dev.ptz_state()
    tok = req.require("tptz:PresetToken")
    p = st.presets.get(tok)
    if p is None:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoToken"], f"no preset {tok!r}")
    dev.ptz_goto(p.pan, p.tilt, p.zoom)
    return el("tptz:GotoPresetResponse")


def remove_preset(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    st = dev.ptz_state()
    tok = req.require("tptz:PresetToken")
    if st.presets.pop(tok, None) is None:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoToken"], f"no preset {tok!r}")
    return el("tptz:RemovePresetResponse")


def get_configurations(dev: SimDevice, req: SoapRequest) -> str:
    return el("tptz:GetConfigurationsResponse", _ptz_cfg("tptz:PTZConfiguration"))


def get_nodes(dev: SimDevice, req: SoapRequest) -> str:
    rng = lambda lo, hi: el("tt:XRange", [el("tt:Min", lo), el("tt:Max", hi)])  # noqa: E731
    spaces = el("tt:SupportedPTZSpaces", [
        el("tt:AbsolutePanTiltPositionSpace", [el("tt:URI", PT_POS), rng(-1, 1),
                                               el("tt:YRange", [el("tt:Min", -1), el("tt:Max", 1)])]),
        el("tt:AbsoluteZoomPositionSpace", [el("tt:URI", Z_POS), rng(0, 1)]),
        el("tt:ContinuousPanTiltVelocitySpace", [
            el("tt:URI", "http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace"),
            rng(-1, 1), el("tt:YRange", [el("tt:Min", -1), el("tt:Max", 1)])]),
        el("tt:ContinuousZoomVelocitySpace", [
            el("tt:URI", "http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace"),
            rng(-1, 1)])])
    return el("tptz:GetNodesResponse", el("tptz:PTZNode", [
        el("tt:Name", "PTZ"), spaces, el("tt:MaximumNumberOfPresets", MAX_PRESETS),
        el("tt:HomeSupported", False)], token=PTZ_NODE, FixedHomePosition=False))


HANDLERS = {
    "ContinuousMove": continuous_move, "Stop": stop, "GetStatus": get_status,
    "GetPresets": get_presets, "SetPreset": set_preset, "GotoPreset": goto_preset,
    "RemovePreset": remove_preset, "GetConfigurations": get_configurations, "GetNodes": get_nodes,
}

"""PTZ service (ver20/ptz) for the PTZ cameras, in the generic ONVIF spaces.

Continuous moves integrate the commanded velocity over time (half a unit a second
at full speed); absolute and relative moves head for their position at the speed
asked (full speed crosses the pan range in 2 s); everything is clamped to pan/tilt
[-1, 1] and zoom [0, 1]. Every move the node lists a space for is implemented.
"""

from __future__ import annotations

import itertools

from vms.sim.device import Preset, SimDevice
from vms.sim.onvif.media import PTZ_CONFIG, PTZ_NODE, _ptz_cfg
from vms.sim.onvif.soap import (
    SoapFault,
    SoapRequest,
    el,
    invalid_arg,
    no_profile,
    parse_duration,
    xs_datetime,
)

_SPACES = "http://www.onvif.org/ver10/tptz/"
PT_POS = _SPACES + "PanTiltSpaces/PositionGenericSpace"
Z_POS = _SPACES + "ZoomSpaces/PositionGenericSpace"
PT_REL = _SPACES + "PanTiltSpaces/TranslationGenericSpace"
Z_REL = _SPACES + "ZoomSpaces/TranslationGenericSpace"
PT_VEL = _SPACES + "PanTiltSpaces/VelocityGenericSpace"
Z_VEL = _SPACES + "ZoomSpaces/VelocityGenericSpace"
PT_SPEED = _SPACES + "PanTiltSpaces/GenericSpeedSpace"
Z_SPEED = _SPACES + "ZoomSpaces/ZoomGenericSpeedSpace"
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


def _vector(req: SoapRequest, path: str, pt_space: str, z_space: str
            ) -> tuple[float | None, float | None, float | None]:
    """(pan, tilt, zoom) of a PTZVector argument; None where it is absent. A space the node
    does not list is refused, as ONVIF says (ter:SpaceNotSupported)."""
    pt = req.find(f"{path}/tt:PanTilt")
    z = req.find(f"{path}/tt:Zoom")
    for node, space in ((pt, pt_space), (z, z_space)):
        if node is not None and node.get("space") not in (None, "", space):
            raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:SpaceNotSupported"],
                            f"space {node.get('space')} is not supported (use {space})")
    return (_f(pt.get("x")) if pt is not None else None,
            _f(pt.get("y")) if pt is not None else None,
            _f(z.get("x")) if z is not None else None)


def _speed(req: SoapRequest) -> tuple[float, float, float]:
    """Speed in the generic speed spaces (0..1); full speed where the request gives none."""
    pt = req.find("tptz:Speed/tt:PanTilt")
    z = req.find("tptz:Speed/tt:Zoom")
    pan = _f(pt.get("x"), 1.0) if pt is not None else 1.0
    tilt = _f(pt.get("y"), pan) if pt is not None else 1.0
    return pan, tilt, _f(z.get("x"), 1.0) if z is not None else 1.0


def absolute_move(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    pan, tilt, zoom = _vector(req, "tptz:Position", PT_POS, Z_POS)
    for v, lo, hi in ((pan, -1, 1), (tilt, -1, 1), (zoom, 0, 1)):
        if v is not None and not lo <= v <= hi:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidPosition"],
                            f"position {v:g} is outside {lo}..{hi}")
    dev.ptz_move_to(pan, tilt, zoom, _speed(req))
    return el("tptz:AbsoluteMoveResponse")


def relative_move(dev: SimDevice, req: SoapRequest) -> str:
    _check_profile(dev, req)
    dp, dt, dz = _vector(req, "tptz:Translation", PT_REL, Z_REL)
    for v in (dp, dt, dz):
        if v is not None and not -1 <= v <= 1:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidTranslation"],
                            f"translation {v:g} is outside -1..1")
    st = dev.ptz_state()
    dev.ptz_move_to(None if dp is None else st.pan + dp, None if dt is None else st.tilt + dt,
                    None if dz is None else st.zoom + dz, _speed(req))
    return el("tptz:RelativeMoveResponse")


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
    return el("tptz:GetStatusResponse", el("tptz:PTZStatus", [
        _position(st.pan, st.tilt, st.zoom, "tt:Position"),
        el("tt:MoveStatus", [el("tt:PanTilt", "MOVING" if st.pan_tilt_moving else "IDLE"),
                             el("tt:Zoom", "MOVING" if st.zoom_moving else "IDLE")]),
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


def get_configuration(dev: SimDevice, req: SoapRequest) -> str:
    _check_config(req.require("tptz:PTZConfigurationToken"))
    return el("tptz:GetConfigurationResponse", _ptz_cfg("tptz:PTZConfiguration"))


def _check_config(token: str) -> None:
    if token != PTZ_CONFIG:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoConfig"],
                        f"no PTZ configuration {token!r}")


def _spaces(tag: str) -> str:
    """Every space the node moves in (tt:PTZSpaces, in schema order)."""
    def rng(tag: str, lo: float, hi: float) -> str:
        return el(tag, [el("tt:Min", lo), el("tt:Max", hi)])

    def two(tag: str, uri: str, lo: float = -1) -> str:
        return el(tag, [el("tt:URI", uri), rng("tt:XRange", lo, 1), rng("tt:YRange", lo, 1)])

    def one(tag: str, uri: str, lo: float) -> str:
        return el(tag, [el("tt:URI", uri), rng("tt:XRange", lo, 1)])

    return el(tag, [
        two("tt:AbsolutePanTiltPositionSpace", PT_POS), one("tt:AbsoluteZoomPositionSpace", Z_POS, 0),
        two("tt:RelativePanTiltTranslationSpace", PT_REL),
        one("tt:RelativeZoomTranslationSpace", Z_REL, -1),
        two("tt:ContinuousPanTiltVelocitySpace", PT_VEL),
        one("tt:ContinuousZoomVelocitySpace", Z_VEL, -1),
        one("tt:PanTiltSpeedSpace", PT_SPEED, 0), one("tt:ZoomSpeedSpace", Z_SPEED, 0)])


def get_configuration_options(dev: SimDevice, req: SoapRequest) -> str:
    _check_config(req.require("tptz:ConfigurationToken"))
    return el("tptz:GetConfigurationOptionsResponse", el("tptz:PTZConfigurationOptions", [
        _spaces("tt:Spaces"), el("tt:PTZTimeout", [el("tt:Min", "PT1S"), el("tt:Max", "PT60S")])]))


def _node(tag: str) -> str:
    return el(tag, [el("tt:Name", "PTZ"), _spaces("tt:SupportedPTZSpaces"),
                    el("tt:MaximumNumberOfPresets", MAX_PRESETS), el("tt:HomeSupported", False)],
              token=PTZ_NODE, FixedHomePosition=False)


def get_nodes(dev: SimDevice, req: SoapRequest) -> str:
    return el("tptz:GetNodesResponse", _node("tptz:PTZNode"))


def get_node(dev: SimDevice, req: SoapRequest) -> str:
    tok = req.require("tptz:NodeToken")
    if tok != PTZ_NODE:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoEntity"], f"no PTZ node {tok!r}")
    return el("tptz:GetNodeResponse", _node("tptz:PTZNode"))


HANDLERS = {
    "AbsoluteMove": absolute_move, "RelativeMove": relative_move,
    "ContinuousMove": continuous_move, "Stop": stop, "GetStatus": get_status,
    "GetPresets": get_presets, "SetPreset": set_preset, "GotoPreset": goto_preset,
    "RemovePreset": remove_preset, "GetConfigurations": get_configurations,
    "GetConfiguration": get_configuration, "GetConfigurationOptions": get_configuration_options,
    "GetNodes": get_nodes, "GetNode": get_node,
}

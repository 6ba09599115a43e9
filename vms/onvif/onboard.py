"""Onboarding: find out what a device is and what it can actually do, the way an installer checks.

Order matters: the clock first (WS-Security is signed with the device's time),
then the service addresses, identity, capabilities, profiles and stream URIs.
Only a failure to reach or log in to the device is fatal; anything optional that a
camera does not implement becomes a warning in the report.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

from vms.errors import AuthFailed, BadReply, ProtocolError, UnsafeStreamUri
from vms.onvif.camera import (
    NS_DEVICEIO,
    NS_EVENTS,
    NS_MEDIA,
    NS_MEDIA2,
    NS_PTZ,
    DeviceClient,
    Target,
    child,
    local,
    reach_url,
    text,
)
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport, StreamInfo, choose_roles, describe_offset
from vms.onvif.trials import run_trials
from vms.safety.redact import scrub_url
from vms.safety.streamsafe import check_stream_uri, strip_userinfo

CLOCK_WARN_S = 5.0


def _dig(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


N = TypeVar("N", int, float)


def _num(kind: type[N], v: Any) -> N | None:
    try:
        return kind(str(v).strip())
    except (TypeError, ValueError):
        return None


def _int(v: Any) -> int | None:
    return _num(int, v)


def _float(v: Any) -> float | None:
    return _num(float, v)


async def onboard(target: Target, user: str, password: str,
                  timeouts: Timeouts | None = None) -> DeviceReport:
    """Onboard one device; raises ``DeviceError`` only when nothing useful can be learned."""
    async with DeviceClient(target, user, password, timeouts) as dc:
        return await onboard_with(dc)


async def onboard_with(dc: DeviceClient) -> DeviceReport:
    """Onboard through an open client (the benchmark reads its request count afterwards).

    Unreachable, refused and unsafe replies propagate from the first exchanges; so does a
    reply that is not SOAP at all (``BadReply``), though other protocol errors are warnings.
    """
    t = dc.target
    rep = DeviceReport(address=t.url, host=t.host, port=t.port, user=dc.user)
    try:
        offset = await dc.read_clock()
        rep.clock_offset_s = round(offset, 1)
        if abs(offset) >= CLOCK_WARN_S:
            rep.warnings.append(
                f"the device clock is {describe_offset(offset)}; requests are "
                "signed with its time, but set NTP on the device so recordings line up")
    except BadReply:
        raise
    except ProtocolError as exc:
        rep.warnings.append(f"could not read the device clock ({exc}); if it is off by more than "
                            "a few seconds the device may refuse the password")

    rep.warnings += await dc.discover_services()
    # Identity doubles as the credentials check: GetDeviceInformation needs them.
    try:
        info = await dc.call("devicemgmt", "GetDeviceInformation")
        rep.manufacturer = _s(getattr(info, "Manufacturer", None))
        rep.model = _s(getattr(info, "Model", None))
        rep.firmware = _s(getattr(info, "FirmwareVersion", None))
        rep.serial = _s(getattr(info, "SerialNumber", None))
        rep.hardware_id = _s(getattr(info, "HardwareId", None))
    except BadReply:
        raise
    except ProtocolError as exc:
        rep.warnings.append(f"no device information: {exc}")

    await _scopes(dc, rep)
    caps = rep.capabilities
    raw: dict[str, Any] = {}
    try:
        raw = await dc.capabilities()
    except ProtocolError as exc:
        rep.warnings.append(f"GetCapabilities failed: {exc}")
    caps.services = dict(dc.xaddrs)
    caps.media2 = NS_MEDIA2 in dc.xaddrs
    caps.ptz = NS_PTZ in dc.xaddrs or bool(_dig(raw, "PTZ", "XAddr"))
    caps.events = NS_EVENTS in dc.xaddrs or bool(_dig(raw, "Events", "XAddr"))
    # Refined by the trials: a device may say WSPullPointSupport="false".
    caps.pullpoint = bool(_dig(raw, "Events", "WSPullPointSupport")) or caps.events
    caps.input_connectors = _int(_dig(raw, "Device", "IO", "InputConnectors")) or 0
    caps.relay_count = _int(_dig(raw, "Device", "IO", "RelayOutputs")) or 0
    caps.deviceio = NS_DEVICEIO in dc.xaddrs

    await _io(dc, rep)
    await _profiles(dc, rep)
    if not any(s.uri for s in rep.streams):
        rep.warnings.append("no stream URI could be read: live view will not work until this is fixed")
    if not (rep.manufacturer or rep.model or rep.streams or len(dc.xaddrs) > 1):
        raise BadReply(f"{t.where} answered, but nothing it said was ONVIF (no identity, services "
                       "or profiles): not an ONVIF device?")
    await run_trials(dc, rep, raw)
    rep.warnings += dc.warnings
    rep.auth_method = "http-digest" if dc.vetter.digest_used else "ws-security"
    return rep


async def _scopes(dc: DeviceClient, rep: DeviceReport) -> None:
    """Name and location as the installer set them on the device (ONVIF scopes)."""
    try:
        scopes = await dc.call("devicemgmt", "GetScopes") or []
    except ProtocolError:
        return
    for sc in scopes:
        item = _s(getattr(sc, "ScopeItem", None)) or ""
        for key in ("name", "location"):
            prefix = f"onvif://www.onvif.org/{key}/"
            if item.lower().startswith(prefix) and not getattr(rep, key):
                setattr(rep, key, unquote(item[len(prefix):]).replace("_", " ").strip() or None)
    try:
        ref = await dc.call("devicemgmt", "GetEndpointReference")
        rep.endpoint_ref = _s(getattr(ref, "GUID", None))
    except ProtocolError:
        pass  # optional; discovery supplies it too


def _s(v: Any) -> str | None:
    return str(v).strip() or None if v is not None else None


async def _io(dc: DeviceClient, rep: DeviceReport) -> None:
    caps = rep.capabilities
    relays_read = False
    if caps.deviceio:
        for op, dest in (("GetRelayOutputs", caps.relay_outputs), ("GetDigitalInputs", caps.digital_inputs)):
            try:
                dest.extend(t for item in await dc.call("deviceio", op) or []
                            if (t := getattr(item, "token", None)))
                relays_read |= op == "GetRelayOutputs"
            except ProtocolError as exc:
                rep.warnings.append(f"DeviceIO {op} failed: {exc}")
    if not relays_read and (caps.relay_count or caps.deviceio):
        # Device-service GetRelayOutputs: older firmware, or DeviceIO that lacks it.
        try:
            caps.relay_outputs.extend(t for item in await dc.call("devicemgmt", "GetRelayOutputs") or []
                                      if (t := getattr(item, "token", None)))
        except ProtocolError as exc:
            rep.warnings.append(f"GetRelayOutputs failed: {exc}")
    if NS_MEDIA in dc.xaddrs:
        for op, attr in (("GetAudioSources", "audio_sources"), ("GetAudioOutputs", "audio_outputs")):
            with contextlib.suppress(ProtocolError):  # optional in Profile S: absent means none
                setattr(caps, attr, len(await dc.call("media", op) or []))


async def _profiles(dc: DeviceClient, rep: DeviceReport) -> None:
    if rep.capabilities.media2:
        try:
            rep.streams = await media2_profiles(dc)
        except (ProtocolError, AuthFailed) as exc:
            rep.warnings.append(f"Media2 failed ({exc}); used Media (ONVIF Profile S)")
            rep.streams = []
    if not rep.streams and NS_MEDIA in dc.xaddrs:
        rep.streams = await media1_profiles(dc, rep)
    elif not rep.streams:
        rep.warnings.append("the device offers no media service")
    rep.capabilities.backchannel = any(s.backchannel for s in rep.streams)
    if any(s.audio for s in rep.streams):
        rep.capabilities.audio_sources = max(rep.capabilities.audio_sources, 1)
    t = dc.target
    for s in rep.streams:
        # Credentials a camera embeds in a URI are never kept or printed (the keyring has them).
        s.uri = strip_userinfo(reach_url(s.uri, t, keep_port=True))
        s.snapshot_uri = strip_userinfo(reach_url(s.snapshot_uri, t, keep_port=False))
        if s.uri:
            try:
                check_stream_uri(s.uri)
            except UnsafeStreamUri as exc:
                s.uri, s.error = None, f"refused: {exc}"
                rep.warnings.append(f"profile {s.profile_token}: {exc}")
        if s.snapshot_uri and urlsplit(s.snapshot_uri).scheme.lower() not in ("http", "https"):
            rep.warnings.append(f"profile {s.profile_token}: snapshot address "
                                f"{scrub_url(s.snapshot_uri)[:120]!r} refused (not http or https)")
            s.snapshot_uri = None
    choose_roles(rep.streams)


async def media1_profiles(dc: DeviceClient, rep: DeviceReport) -> list[StreamInfo]:
    try:
        profiles = await dc.call("media", "GetProfiles") or []
    except ProtocolError as exc:
        rep.warnings.append(f"GetProfiles failed: {exc}")
        return []
    out: list[StreamInfo] = []
    for p in profiles:
        token = getattr(p, "token", None)
        if not token:
            continue
        vec = getattr(p, "VideoEncoderConfiguration", None)
        res = getattr(vec, "Resolution", None)
        rc = getattr(vec, "RateControl", None)
        ext = getattr(p, "Extension", None)
        s = StreamInfo(profile_token=token, profile_name=_s(getattr(p, "Name", None)) or token,
                       encoding=_s(getattr(vec, "Encoding", None)),
                       width=_int(getattr(res, "Width", None)), height=_int(getattr(res, "Height", None)),
                       fps=_float(getattr(rc, "FrameRateLimit", None)), media_version=1,
                       audio=getattr(p, "AudioEncoderConfiguration", None) is not None,
                       backchannel=getattr(ext, "AudioOutputConfiguration", None) is not None
                       and getattr(ext, "AudioDecoderConfiguration", None) is not None)
        out.append(s)
    await asyncio.gather(*(_fill(dc, s) for s in out))
    return out


async def media2_profiles(dc: DeviceClient) -> list[StreamInfo]:
    resp = await dc.media2("GetProfiles", "<tr2:Type>All</tr2:Type>")
    out: list[StreamInfo] = []
    for p in resp:
        if not isinstance(p.tag, str) or local(p) != "Profiles" or not p.get("token"):
            continue
        cfg = child(p, "Configurations")
        vec = child(cfg, "VideoEncoder")
        s = StreamInfo(profile_token=p.get("token", ""), profile_name=text(p, "Name") or p.get("token", ""),
                       encoding=text(vec, "Encoding"), width=_int(text(vec, "Resolution", "Width")),
                       height=_int(text(vec, "Resolution", "Height")),
                       fps=_float(text(vec, "RateControl", "FrameRateLimit")), media_version=2,
                       audio=child(cfg, "AudioEncoder") is not None,
                       backchannel=child(cfg, "AudioOutput") is not None
                       and child(cfg, "AudioDecoder") is not None)
        out.append(s)

    await asyncio.gather(*(_fill(dc, s) for s in out))
    return out


async def _fill(dc: DeviceClient, s: StreamInfo) -> None:
    if s.width is None and s.encoding is None:
        return  # audio- or metadata-only profile
    try:
        s.uri, s.snapshot_uri = await stream_uri(dc, s.profile_token, s.media_version)
    except ProtocolError as exc:
        s.error = f"no stream URI: {exc}"


async def stream_uri(dc: DeviceClient, token: str, media_version: int) -> tuple[str | None, str | None]:
    """RTSP unicast URI and snapshot URI of one profile (the snapshot is optional)."""
    snap: str | None = None
    if media_version == 2:
        tok = f"<tr2:ProfileToken>{escape(token)}</tr2:ProfileToken>"
        uri = text(await dc.media2("GetStreamUri", f"<tr2:Protocol>RTSP</tr2:Protocol>{tok}"), "Uri")
        # a snapshot URI is optional (ONVIF Media2); none means none
        with contextlib.suppress(ProtocolError):
            snap = text(await dc.media2("GetSnapshotUri", tok), "Uri")
        return uri, snap
    r = await dc.call("media", "GetStreamUri", {
        "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
        "ProfileToken": token})
    uri = _s(getattr(r, "Uri", None))
    # a snapshot URI is optional (ONVIF Media); none means none
    with contextlib.suppress(ProtocolError):
        snap = _s(getattr(await dc.call("media", "GetSnapshotUri", {"ProfileToken": token}), "Uri", None))
    return uri, snap

"""The capability table: what a device claims, set beside what worked when we tried it.

Run at the end of onboarding, with the device's claims already read. Each trial is
harmless to a working site: a subscription taken and given back, a talk channel
described and never played, the PTZ position read but never moved, the relay listed
but never switched (an operator's blue light is not ours to flash during a probe).
"""

from __future__ import annotations

import time
from typing import Any

from vms.audio.rtsp_talk import TalkChannel
from vms.errors import DeviceError, ProtocolError, UnsafeXml
from vms.events import basenotify, pullpoint
from vms.events.engine import BASE_NOTIFICATION, PULL_POINT
from vms.events.pullpoint import not_supported
from vms.onvif.camera import NS_EVENTS, NS_PTZ, DeviceClient, local
from vms.onvif.model import FAILED, NOT_TRIED, WORKED, CapabilityCheck, DeviceReport

PUSH_WAIT_S = 3.0
TRIAL_LIFETIME_S = 10
# GetNodes space elements, as an installer would name them.
_SPACES = {
    "AbsolutePanTiltPositionSpace": "absolute pan/tilt",
    "AbsoluteZoomPositionSpace": "absolute zoom",
    "RelativePanTiltTranslationSpace": "relative pan/tilt",
    "RelativeZoomTranslationSpace": "relative zoom",
    "ContinuousPanTiltVelocitySpace": "continuous pan/tilt",
    "ContinuousZoomVelocitySpace": "continuous zoom",
}


async def run_trials(dc: DeviceClient, rep: DeviceReport, raw_caps: dict[str, Any]) -> None:
    """Fill ``rep.capabilities.checks`` and ``event_method``; failures are results, not errors."""
    caps = rep.capabilities
    checks: list[CapabilityCheck] = []
    if caps.events:
        checks += await _events(dc, rep, raw_caps)
    if caps.media2:
        m2 = any(s.media_version == 2 for s in rep.streams)
        checks.append(CapabilityCheck(
            "Media2", True, WORKED if m2 else FAILED,
            "profiles and stream URIs read through Media2" if m2 else
            "Media2 did not answer; Media (Profile S) used instead"))
    else:
        checks.append(CapabilityCheck("Media2", False, NOT_TRIED, "not offered; Media used"))
    if caps.ptz:
        checks.append(await _ptz(dc, rep))
    relays = len(caps.relay_outputs) or caps.relay_count
    if relays or caps.deviceio:
        checks.append(CapabilityCheck(
            "relay output", bool(relays), WORKED if caps.relay_outputs else NOT_TRIED,
            (f"{len(caps.relay_outputs)} listed ({', '.join(caps.relay_outputs)}); not switched "
             "during a probe") if caps.relay_outputs else "none could be listed"))
    checks.append(await _backchannel(dc, rep))
    caps.checks = checks


async def _events(dc: DeviceClient, rep: DeviceReport,
                  raw_caps: dict[str, Any]) -> list[CapabilityCheck]:
    caps = rep.capabilities
    url = dc.xaddrs.get(NS_EVENTS) or caps.services.get(NS_EVENTS)
    if not url:
        return [CapabilityCheck("events: PullPoint", None, FAILED, "no event service address")]
    claimed = await pullpoint.pull_point_support(dc, url)
    if claimed is None:
        said = (raw_caps.get("Events") or {}).get("WSPullPointSupport")  # zeep gives a bool
        claimed = said if isinstance(said, bool) else None
    caps.pullpoint = claimed is not False

    pull = CapabilityCheck("events: PullPoint", claimed)
    try:
        sub = await pullpoint.create(dc, url, TRIAL_LIFETIME_S)  # gone soon if not given back
        await pullpoint.unsubscribe(dc, sub)
        pull.result, pull.detail = WORKED, "subscription created and given back"
    except ProtocolError as exc:
        pull.result = FAILED
        pull.detail = "refused: not supported" if not_supported(exc) else f"refused: {exc}"
    except (DeviceError, UnsafeXml) as exc:
        pull.result, pull.detail = FAILED, str(exc)

    push = CapabilityCheck("events: WS-BaseNotification", True)  # mandatory in ONVIF Core
    if pull.result == WORKED:
        push.detail = "not needed: PullPoint works"
        caps.event_method = PULL_POINT
    else:
        push.result, push.detail = await _try_push(dc, url)
        caps.event_method = BASE_NOTIFICATION if push.result == WORKED else ""
        if push.result != WORKED:
            rep.warnings.append("no way to receive this device's events worked (PullPoint: "
                                f"{pull.detail}; WS-BaseNotification: {push.detail}): its "
                                "alarms and buttons will not raise calls")
    return [pull, push]


async def _try_push(dc: DeviceClient, url: str) -> tuple[str, str]:
    """Subscribe to a consumer of our own and wait for the device's first Notify."""
    consumer = basenotify.Consumer()
    try:
        async with basenotify.pushed(consumer, dc, url) as push:
            got = await push.next(time.monotonic() + PUSH_WAIT_S)
        if not got:
            return FAILED, (f"subscribed, but nothing was pushed to us within {PUSH_WAIT_S:.0f} s "
                            "(a firewall between the device and this computer?)")
        return WORKED, f"subscribed; the device pushed {len(got)} message(s) to us"
    except (DeviceError, UnsafeXml) as exc:
        return FAILED, str(exc)
    finally:
        await consumer.close()


async def _ptz(dc: DeviceClient, rep: DeviceReport) -> CapabilityCheck:
    url = dc.xaddrs.get(NS_PTZ) or rep.capabilities.services.get(NS_PTZ)
    check = CapabilityCheck("PTZ", True)
    if not url:
        check.result, check.detail = FAILED, "no PTZ service address"
        return check
    try:
        nodes = await dc.soap(url, NS_PTZ, "GetNodes")
        spaces = sorted({_SPACES[local(e)] for e in nodes.iter() if isinstance(e.tag, str)
                         and local(e) in _SPACES})
        check.detail = "spaces: " + (", ".join(spaces) or "none listed")
        token = next((s.profile_token for s in rep.streams if s.role == "main"), None)
        if token:
            await dc.soap(url, NS_PTZ, "GetStatus", f"<m:ProfileToken>{_x(token)}</m:ProfileToken>")
            check.detail += "; position read (not moved during a probe)"
        check.result = WORKED
    except (DeviceError, UnsafeXml) as exc:
        check.result, check.detail = FAILED, str(exc)
    return check


async def _backchannel(dc: DeviceClient, rep: DeviceReport) -> CapabilityCheck:
    """DESCRIBE with the ONVIF backchannel Require header; nothing is set up or played."""
    claimed = any(s.backchannel for s in rep.streams) or None
    check = CapabilityCheck("talk-back (audio backchannel)", claimed)
    uri = next((s.uri for s in rep.streams if s.role == "main" and s.uri), None)
    if not uri or not uri.lower().startswith(("rtsp://", "rtsps://")):
        check.detail = "no RTSP stream to try it on"
        return check
    channel = TalkChannel(uri, dc.user, dc.password, timeout=5.0)
    try:
        if await channel.describe() is not None:
            check.result, check.detail = WORKED, "a talk track is offered (sendonly audio)"
        else:
            check.result, check.detail = FAILED, "no talk track in the stream's description"
    except (DeviceError, OSError) as exc:
        check.result, check.detail = FAILED, str(exc)
    finally:
        await channel.close()
    if claimed is None and check.result == FAILED:
        check.detail += " (the device does not claim one either)"
    return check


def _x(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


"""The simulator does what it advertises, as ONVIF clients we did not write expect.

Walks every service a device lists in GetServices/GetCapabilities and calls each operation its
capabilities or PTZ node claim, with valid input and a signed WS-UsernameToken: none may answer
ActionNotSupported or any other fault. Also: GetServiceCapabilities agrees with GetServices,
absolute and relative PTZ moves go where they say, and credentials are challenged for before a
request body is parsed.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from lxml import etree

from tests.conftest import PASSWORD, USER, Sim
from tests.test_sim_onvif import camera
from vms.events import basenotify, pullpoint
from vms.onvif.camera import DeviceClient, child, local, parse_target, text

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"
NS_EVENTS = "http://www.onvif.org/ver10/events/wsdl"
NS_DEVICEIO = "http://www.onvif.org/ver10/deviceIO/wsdl"
NS_PTZ = "http://www.onvif.org/ver20/ptz/wsdl"
PREFIX = {NS_DEVICE: "tds", NS_MEDIA: "trt", NS_MEDIA2: "tr2", NS_EVENTS: "tev",
          NS_DEVICEIO: "tmd", NS_PTZ: "tptz"}
KINDS = ["cam1", "hp1", "pid1"]  # one of each device kind on the default site


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))  # type: ignore[arg-type]


class Walker:
    """Signed SOAP calls to one device; every call made is noted, so the walk can be checked."""

    def __init__(self, dc: DeviceClient) -> None:
        self.dc = dc
        self.services: dict[str, str] = {}  # namespace -> XAddr
        self.called: list[tuple[str, str]] = []

    async def __call__(self, ns: str, op: str, body: str = "") -> etree._Element:
        """Raises ProtocolError (with the fault's codes) on any fault: the test fails there."""
        self.called.append((PREFIX[ns], op))
        p = PREFIX[ns]
        return await self.dc.soap(self.services[ns], ns, op, body.replace("P:", f"{p}:"),
                                  prefix=p)


async def open_walker(sim: Sim, name: str,
                      walk: Callable[[Walker], Awaitable[None]]) -> list[tuple[str, str]]:
    async with DeviceClient(parse_target(sim.address(name)), USER, PASSWORD) as dc:
        await dc.read_clock()  # sign with the device's clock
        w = Walker(dc)
        w.services[NS_DEVICE] = dc.target.url
        await walk(w)
        return w.called


def services_of(reply: etree._Element) -> dict[str, etree._Element]:
    return {text(s, "Namespace") or "": s for s in reply if local(s) == "Service"}


def canonical(el: etree._Element | None) -> bytes:
    assert el is not None
    return etree.tostring(el, method="c14n", exclusive=True)


# -- GetServiceCapabilities ---------------------------------------------------------

@pytest.mark.parametrize("name", KINDS)
def test_every_service_answers_get_service_capabilities_as_get_services_says(
        sim: Sim, name: str) -> None:
    async def walk(w: Walker) -> None:
        listed = services_of(await w(NS_DEVICE, "GetServices",
                                     "<P:IncludeCapability>true</P:IncludeCapability>"))
        assert {NS_DEVICE, NS_MEDIA, NS_MEDIA2, NS_EVENTS} <= set(listed)
        for ns, svc in listed.items():
            w.services[ns] = text(svc, "XAddr") or ""
            reply = await w(ns, "GetServiceCapabilities")
            said = child(svc, "Capabilities")
            assert said is not None and len(said), f"{ns}: GetServices gave no capabilities"
            assert canonical(child(reply, "Capabilities")) == canonical(said[0]), ns

    run(open_walker(sim, name, walk))


# -- PTZ: absolute and relative moves, as an outside client makes them ----------------

async def wait_idle(ptz: Any, timeout: float = 10.0) -> Any:
    end = time.monotonic() + timeout
    while True:
        st = await ptz.GetStatus({"ProfileToken": "main"})
        if st.MoveStatus.PanTilt == "IDLE" and st.MoveStatus.Zoom == "IDLE":
            return st
        assert time.monotonic() < end, "the camera never finished its move"
        await asyncio.sleep(0.05)


def test_absolute_and_relative_moves_reach_their_position(sim: Sim) -> None:
    async def go() -> None:
        async with camera(sim, "cam2") as cam:
            ptz = await cam.create_ptz_service()
            node = await ptz.GetNode({"NodeToken": "PTZN_0"})
            spaces = node.SupportedPTZSpaces
            assert spaces.AbsolutePanTiltPositionSpace and spaces.RelativePanTiltTranslationSpace
            cfg = await ptz.GetConfiguration({"PTZConfigurationToken": "PTZC_0"})
            assert cfg.NodeToken == "PTZN_0"
            opts = await ptz.GetConfigurationOptions({"ConfigurationToken": "PTZC_0"})
            assert opts.Spaces.AbsoluteZoomPositionSpace[0].XRange.Max == 1

            await ptz.AbsoluteMove({"ProfileToken": "main",
                                    "Position": {"PanTilt": {"x": 0.5, "y": -0.25},
                                                 "Zoom": {"x": 0.5}},
                                    "Speed": {"PanTilt": {"x": 0.5, "y": 0.5}, "Zoom": {"x": 1}}})
            moving = await ptz.GetStatus({"ProfileToken": "main"})
            assert moving.MoveStatus.PanTilt == "MOVING"  # 0.5 units at half speed: 1 s
            st = await wait_idle(ptz)
            assert (st.Position.PanTilt.x, st.Position.PanTilt.y, st.Position.Zoom.x) == \
                pytest.approx((0.5, -0.25, 0.5), abs=1e-3)

            await ptz.RelativeMove({"ProfileToken": "main",
                                    "Translation": {"PanTilt": {"x": -0.75, "y": 0.5}}})
            st = await wait_idle(ptz)
            assert (st.Position.PanTilt.x, st.Position.PanTilt.y, st.Position.Zoom.x) == \
                pytest.approx((-0.25, 0.25, 0.5), abs=1e-3)
            await ptz.RelativeMove({"ProfileToken": "main", "Translation": {"Zoom": {"x": -0.5}}})
            st = await wait_idle(ptz)
            assert st.Position.Zoom.x == pytest.approx(0.0, abs=1e-3)
            assert st.Position.PanTilt.x == pytest.approx(-0.25, abs=1e-3)  # zoom only
        live = sim.live("cam2")["ptz"]
        assert (live["pan"], live["tilt"], live["moving"]) == (-0.25, 0.25, False)
        async with camera(sim, "cam2") as cam:  # the session's site is shared: put it back
            ptz = await cam.create_ptz_service()
            await ptz.AbsoluteMove({"ProfileToken": "main",
                                    "Position": {"PanTilt": {"x": 0.0, "y": 0.0},
                                                 "Zoom": {"x": 0.0}}})
            await wait_idle(ptz)

    run(go())


# -- credentials are asked for before the body is parsed ------------------------------

def post(sim: Sim, data: bytes, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    url = f"http://127.0.0.1:{sim.device('cam1')['http_port']}/onvif/device_service"
    req = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/soap+xml; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def envelope(op: str) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><{op} xmlns="{NS_DEVICE}"/></s:Body>'
            "</s:Envelope>").encode()


WRONG_DIGEST = ('Digest username="admin", realm="BeaconSim-Cam-X", nonce="0abc", uri="/onvif/'
                'device_service", response="00000000000000000000000000000000", qop=auth, '
                'nc=00000001, cnonce="x"')


@pytest.mark.parametrize(("data", "headers"), [
    (b"", {}),
    (b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body><unclosed>", {}),
    (b"", {"Authorization": WRONG_DIGEST}),
    (envelope("GetDeviceInformation"), {"Authorization": WRONG_DIGEST}),
    (envelope("GetSystemDateAndTime"), {"Authorization": WRONG_DIGEST}),
], ids=["empty", "malformed", "empty-wrong-digest", "wrong-digest", "pre-auth-wrong-digest"])
def test_requests_without_good_credentials_get_the_digest_challenge_first(
        sim: Sim, data: bytes, headers: dict[str, str]) -> None:
    status, got, body = post(sim, data, headers)
    assert status == 401, body
    assert got.get("WWW-Authenticate", "").startswith("Digest "), got
    assert b"Document is empty" not in body and b"malformed" not in body


def test_the_empty_request_that_learns_the_challenge_then_authenticates(sim: Sim) -> None:
    """What some outside clients do: an empty POST to learn the challenge, then the request."""
    url = f"http://127.0.0.1:{sim.device('cam1')['http_port']}/onvif/device_service"

    async def go() -> tuple[int, bytes, int, str]:
        headers = {"Content-Type": "application/soap+xml"}
        async with aiohttp.ClientSession(middlewares=(
                aiohttp.DigestAuthMiddleware(USER, PASSWORD),)) as s:
            async with s.post(url, data=b"", headers=headers) as r:  # learns the challenge
                empty = r.status, await r.read()
            async with s.post(url, data=envelope("GetDeviceInformation"), headers=headers) as r:
                return *empty, r.status, await r.text()

    empty_status, empty_body, status, info = run(go())
    # Authenticated, the empty body is then what is wrong with it.
    assert empty_status == 400 and b"Document is empty" in empty_body
    assert status == 200 and "BeaconSim-Cam" in info
    # Pre-auth operations still need nothing.
    status, _, body = post(sim, envelope("GetSystemDateAndTime"))
    assert status == 200 and b"UTCDateTime" in body


# -- the walk ---------------------------------------------------------------------------

async def walk_device(w: Walker) -> None:
    """The Profile S/T mandatory device operations the simulator models (reads, and writes
    that put back what was read)."""
    for op in ("GetDeviceInformation", "GetSystemDateAndTime", "GetHostname",
               "GetNetworkInterfaces", "GetNTP", "GetDNS", "GetNetworkProtocols",
               "GetNetworkDefaultGateway", "GetDiscoveryMode", "GetUsers", "GetWsdlUrl",
               "GetEndpointReference", "GetServiceCapabilities"):
        await w(NS_DEVICE, op)
    scopes = await w(NS_DEVICE, "GetScopes")
    configurable = [text(s, "ScopeItem") for s in scopes if text(s, "ScopeDef") == "Configurable"]
    await w(NS_DEVICE, "SetScopes", "".join(f"<P:Scopes>{s}</P:Scopes>" for s in configurable))
    extra = "onvif://www.onvif.org/other/conformance"
    await w(NS_DEVICE, "AddScopes", f"<P:ScopeItem>{extra}</P:ScopeItem>")
    await w(NS_DEVICE, "RemoveScopes", f"<P:ScopeItem>{extra}</P:ScopeItem>")
    host = text(await w(NS_DEVICE, "GetHostname"), "HostnameInformation", "Name")
    await w(NS_DEVICE, "SetHostname", f"<P:Name>{host}</P:Name>")
    await w(NS_DEVICE, "SetNTP", "<P:FromDHCP>false</P:FromDHCP><P:NTPManual><tt:Type>DNS"
                                 "</tt:Type><tt:DNSname>pool.ntp.org</tt:DNSname></P:NTPManual>")
    # SetSystemDateAndTime is left out: it would move a clock other tests of the shared site skew.
    relays = await w(NS_DEVICE, "GetRelayOutputs")
    for r in relays:
        await w(NS_DEVICE, "SetRelayOutputState", f"<P:RelayOutputToken>{r.get('token')}"
                "</P:RelayOutputToken><P:LogicalState>inactive</P:LogicalState>")


async def walk_media(w: Walker) -> None:
    caps = await w(NS_MEDIA, "GetServiceCapabilities")
    profiles = await w(NS_MEDIA, "GetProfiles")
    for op in ("GetVideoSources", "GetAudioSources", "GetAudioOutputs",
               "GetVideoEncoderConfigurations", "GetVideoEncoderConfigurationOptions"):
        await w(NS_MEDIA, op)
    for p in profiles:
        tok = f"<P:ProfileToken>{p.get('token')}</P:ProfileToken>"
        await w(NS_MEDIA, "GetProfile", tok)
        await w(NS_MEDIA, "GetStreamUri", "<P:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>"
                "<tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></P:StreamSetup>" + tok)
        if child(caps, "Capabilities") is not None and \
                child(caps, "Capabilities").get("SnapshotUri") == "true":  # type: ignore[union-attr]
            await w(NS_MEDIA, "GetSnapshotUri", tok)
        vec = child(p, "VideoEncoderConfiguration")
        assert vec is not None
        ctok = f"<P:ConfigurationToken>{vec.get('token')}</P:ConfigurationToken>"
        await w(NS_MEDIA, "GetVideoEncoderConfiguration", ctok)
        await w(NS_MEDIA, "GetVideoEncoderConfigurationOptions", ctok)
        again = etree.tostring(vec).decode().replace("tt:VideoEncoderConfiguration",
                                                       "P:Configuration", 2)
        await w(NS_MEDIA, "SetVideoEncoderConfiguration",
                again + "<P:ForcePersistence>true</P:ForcePersistence>")


async def walk_media2(w: Walker) -> None:
    caps = child(await w(NS_MEDIA2, "GetServiceCapabilities"), "Capabilities")
    profiles = await w(NS_MEDIA2, "GetProfiles", "<P:Type>All</P:Type>")
    await w(NS_MEDIA2, "GetVideoEncoderConfigurations")
    for p in profiles:
        tok = f"<P:ProfileToken>{p.get('token')}</P:ProfileToken>"
        await w(NS_MEDIA2, "GetStreamUri", "<P:Protocol>RtspUnicast</P:Protocol>" + tok)
        if caps is not None and caps.get("SnapshotUri") == "true":
            await w(NS_MEDIA2, "GetSnapshotUri", tok)
        encs = await w(NS_MEDIA2, "GetVideoEncoderConfigurations", tok)
        enc = etree.tostring(encs[0]).decode().replace("tr2:Configurations", "P:Configuration", 2)
        await w(NS_MEDIA2, "SetVideoEncoderConfiguration", enc)


async def walk_deviceio(w: Walker) -> None:
    caps = child(await w(NS_DEVICEIO, "GetServiceCapabilities"), "Capabilities")
    assert caps is not None
    inputs = await w(NS_DEVICEIO, "GetDigitalInputs")
    relays = await w(NS_DEVICEIO, "GetRelayOutputs")
    assert len(inputs) == int(caps.get("DigitalInputs", "0"))
    assert len(relays) == int(caps.get("RelayOutputs", "0"))
    for r in relays:
        await w(NS_DEVICEIO, "SetRelayOutputState", f"<P:RelayOutputToken>{r.get('token')}"
                "</P:RelayOutputToken><P:LogicalState>inactive</P:LogicalState>")


# Which operation exercises each space a PTZ node can list: a space the node lists must be moved in.
SPACE_OPS = {
    "AbsolutePanTiltPositionSpace": "AbsoluteMove", "AbsoluteZoomPositionSpace": "AbsoluteMove",
    "RelativePanTiltTranslationSpace": "RelativeMove",
    "RelativeZoomTranslationSpace": "RelativeMove",
    "ContinuousPanTiltVelocitySpace": "ContinuousMove",
    "ContinuousZoomVelocitySpace": "ContinuousMove",
    "PanTiltSpeedSpace": "AbsoluteMove", "ZoomSpeedSpace": "AbsoluteMove",
}


async def ptz_idle(w: Walker, tok: str) -> None:
    for _ in range(200):
        st = child(await w(NS_PTZ, "GetStatus", tok), "PTZStatus", "MoveStatus")
        if all(text(st, k) == "IDLE" for k in ("PanTilt", "Zoom")):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the PTZ camera never stopped")


async def walk_ptz(w: Walker) -> None:
    await w(NS_PTZ, "GetServiceCapabilities")
    nodes = await w(NS_PTZ, "GetNodes")
    cfgs = await w(NS_PTZ, "GetConfigurations")
    for c in cfgs:
        ctok = c.get("token")
        await w(NS_PTZ, "GetConfiguration", f"<P:PTZConfigurationToken>{ctok}"
                                            "</P:PTZConfigurationToken>")
        await w(NS_PTZ, "GetConfigurationOptions",
                f"<P:ConfigurationToken>{ctok}</P:ConfigurationToken>")
    profile = next(p for p in await w(NS_MEDIA, "GetProfiles")
                   if child(p, "PTZConfiguration") is not None)
    tok = f"<P:ProfileToken>{profile.get('token')}</P:ProfileToken>"
    # The session's site is shared: the camera is put back where it was after the walk.
    home = child(await w(NS_PTZ, "GetStatus", tok), "PTZStatus", "Position")
    for node in nodes:
        await w(NS_PTZ, "GetNode", f"<P:NodeToken>{node.get('token')}</P:NodeToken>")
        spaces = child(node, "SupportedPTZSpaces")
        assert spaces is not None
        listed = {local(s): text(s, "URI") for s in spaces if isinstance(s.tag, str)}
        assert set(listed) <= set(SPACE_OPS), f"a space with no operation in the walk: {listed}"

        def uri(kind: str, listed: dict[str, str | None] = listed) -> str:
            return listed.get(kind) or ""
        if "AbsolutePanTiltPositionSpace" in listed:
            await w(NS_PTZ, "AbsoluteMove", tok + "<P:Position>"
                    f'<tt:PanTilt x="0.2" y="0.1" space="{uri("AbsolutePanTiltPositionSpace")}"/>'
                    f'<tt:Zoom x="0.3" space="{uri("AbsoluteZoomPositionSpace")}"/></P:Position>'
                    "<P:Speed>"
                    f'<tt:PanTilt x="1" y="1" space="{uri("PanTiltSpeedSpace")}"/>'
                    f'<tt:Zoom x="1" space="{uri("ZoomSpeedSpace")}"/></P:Speed>')
            await ptz_idle(w, tok)
        if "RelativePanTiltTranslationSpace" in listed:
            await w(NS_PTZ, "RelativeMove", tok + "<P:Translation>"
                    f'<tt:PanTilt x="-0.1" y="0.1" space="{uri("RelativePanTiltTranslationSpace")}"'
                    f'/><tt:Zoom x="0.1" space="{uri("RelativeZoomTranslationSpace")}"/>'
                    "</P:Translation>")
            await ptz_idle(w, tok)
        if "ContinuousPanTiltVelocitySpace" in listed:
            await w(NS_PTZ, "ContinuousMove", tok + "<P:Velocity>"
                    f'<tt:PanTilt x="0.1" y="0" space="{uri("ContinuousPanTiltVelocitySpace")}"/>'
                    f'<tt:Zoom x="0" space="{uri("ContinuousZoomVelocitySpace")}"/></P:Velocity>'
                    "<P:Timeout>PT1S</P:Timeout>")
            await w(NS_PTZ, "Stop", tok + "<P:PanTilt>true</P:PanTilt><P:Zoom>true</P:Zoom>")
    await w(NS_PTZ, "GetPresets", tok)
    saved = text(await w(NS_PTZ, "SetPreset", tok + "<P:PresetName>Conformance</P:PresetName>"),
                 "PresetToken")
    await w(NS_PTZ, "GotoPreset", tok + f"<P:PresetToken>{saved}</P:PresetToken>")
    await w(NS_PTZ, "RemovePreset", tok + f"<P:PresetToken>{saved}</P:PresetToken>")
    if home is not None:
        pt, zoom = child(home, "PanTilt"), child(home, "Zoom")
        await w(NS_PTZ, "AbsoluteMove", tok + "<P:Position>"
                f'<tt:PanTilt x="{pt.get("x") if pt is not None else 0}" '
                f'y="{pt.get("y") if pt is not None else 0}"/>'
                f'<tt:Zoom x="{zoom.get("x") if zoom is not None else 0}"/></P:Position>')
        await ptz_idle(w, tok)


async def walk_events(w: Walker) -> None:
    """What the capabilities claim, done the way our engine does it: a PullPoint with its
    long poll, synchronisation, renewal and unsubscription; and a WS-BaseNotification
    subscription that must push to a consumer of ours (mandatory in ONVIF Core)."""
    caps = child(await w(NS_EVENTS, "GetServiceCapabilities"), "Capabilities")
    assert caps is not None
    props = await w(NS_EVENTS, "GetEventProperties")
    assert child(props, "TopicSet") is not None
    url = w.services[NS_EVENTS]
    if caps.get("WSPullPointSupport") == "true":
        sub = await pullpoint.create(w.dc, url)
        await pullpoint.synchronise(w.dc, sub)
        assert await pullpoint.pull(w.dc, sub) is not None
        await pullpoint.renew(w.dc, sub)
        await w.dc.soap(sub.address, pullpoint.WSNT, "Unsubscribe")
        w.called += [("tev", op) for op in ("CreatePullPointSubscription",
                                            "SetSynchronizationPoint", "PullMessages")]
        w.called += [("wsnt", "Renew"), ("wsnt", "Unsubscribe")]
    consumer = basenotify.Consumer()
    try:
        async with basenotify.pushed(consumer, w.dc, url) as push:
            has_properties = any(local(e) == "MessageDescription"
                                 and e.get("IsProperty") == "true"
                                 for e in props.iter() if isinstance(e.tag, str))
            if has_properties:  # their states are pushed to us at once
                assert await push.next(time.monotonic() + 10)
                w.called.append(("wsnt", "Notify"))
            await pullpoint.renew(w.dc, push.sub)
            await w.dc.soap(push.sub.address, pullpoint.WSNT, "Unsubscribe")  # must not fault
        w.called += [("wsnt", "Subscribe"), ("wsnt", "Renew"), ("wsnt", "Unsubscribe")]
    finally:
        await consumer.close()


WALKS: dict[str, Callable[[Walker], Awaitable[None]]] = {
    NS_DEVICE: walk_device, NS_MEDIA: walk_media, NS_MEDIA2: walk_media2,
    NS_DEVICEIO: walk_deviceio, NS_PTZ: walk_ptz, NS_EVENTS: walk_events,
}


@pytest.mark.parametrize("name", KINDS)
def test_every_advertised_operation_answers_without_a_fault(sim: Sim, name: str) -> None:
    async def walk(w: Walker) -> None:
        listed = services_of(await w(NS_DEVICE, "GetServices",
                                     "<P:IncludeCapability>true</P:IncludeCapability>"))
        for ns, svc in listed.items():
            w.services[ns] = text(svc, "XAddr") or ""
        caps = child(await w(NS_DEVICE, "GetCapabilities", "<P:Category>All</P:Category>"),
                     "Capabilities")
        assert caps is not None
        # Every service GetCapabilities names is one GetServices lists, at the same address.
        for path, ns in ((("Device",), NS_DEVICE), (("Media",), NS_MEDIA),
                         (("Events",), NS_EVENTS), (("PTZ",), NS_PTZ),
                         (("Extension", "DeviceIO"), NS_DEVICEIO)):
            xaddr = text(child(caps, *path), "XAddr")
            if xaddr:
                assert listed.get(ns) is not None and text(listed[ns], "XAddr") == xaddr, path
        for ns in listed:
            assert ns in WALKS, f"no walk for the advertised service {ns}"
            await WALKS[ns](w)

    called = run(open_walker(sim, name, walk))
    ops = {op for _, op in called}
    assert "GetServiceCapabilities" in ops
    if name != "hp1":  # the street domes and PID cameras steer
        assert {"AbsoluteMove", "RelativeMove", "ContinuousMove", "GotoPreset"} <= ops
    else:
        assert ("tmd", "SetRelayOutputState") in called

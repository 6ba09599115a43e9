"""Onboarding against real camera replies, served byte for byte over loopback HTTP.

Expected values are what those cameras sent (see ../shared/data/onvif-captures).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_path
from tests.replay_camera import ReplayCamera
from vms.onvif.camera import NS_MEDIA, NS_MEDIA2, DeviceClient, parse_target
from vms.onvif.http import Timeouts
from vms.onvif.model import DeviceReport
from vms.onvif.onboard import media1_profiles, media2_profiles, onboard, stream_uri


def vendor(name: str) -> Path:
    return shared_path(f"data/onvif-captures/{name}/GetCapabilities_1.xml").parent \
        if name != "hikvision" else shared_path(f"data/onvif-captures/{name}/GetProfiles_1.xml").parent


def replay(name: str, files: dict[str, str], fn: Callable[[ReplayCamera, int], Awaitable[Any]],
           host: str = "127.0.0.1") -> Any:
    async def go() -> Any:
        cam = ReplayCamera(vendor(name), files)
        port = await cam.start(host)
        try:
            return await fn(cam, port)
        finally:
            await cam.stop()
    return asyncio.run(go())


def onboard_capture(name: str, files: dict[str, str] | None = None, host: str = "127.0.0.1"
                    ) -> tuple[DeviceReport, ReplayCamera]:
    async def fn(cam: ReplayCamera, port: int) -> tuple[DeviceReport, ReplayCamera]:
        rep = await onboard(parse_target(f"{host}:{port}"), "admin", "pw", Timeouts(2, 5, 8))
        return rep, cam
    return replay(name, files or {}, fn, host)  # type: ignore[no-any-return]


def test_bosch_flexidome_full_onboarding() -> None:
    rep, cam = onboard_capture("bosch")
    assert (rep.manufacturer, rep.model, rep.firmware) == ("Bosch", "FLEXIDOME indoor 5100i IR",
                                                           "8.71.0066")
    assert rep.serial == "404754734001050102" and rep.hardware_id == "F000B543"
    # The camera said 2023-05-24 21:25:05 UTC.
    said = dt.datetime(2023, 5, 24, 21, 25, 5, tzinfo=dt.UTC).timestamp()
    assert rep.clock_offset_s is not None
    assert abs(rep.clock_offset_s - (said - dt.datetime.now(dt.UTC).timestamp())) < 5
    assert any("days behind" in w for w in rep.warnings)
    # No GetServices on this firmware: GetCapabilities supplied the service addresses.
    assert cam.ops["GetServices"] == 1 and cam.ops["GetCapabilities"] >= 1
    assert any("GetServices not supported" in w for w in rep.warnings)
    assert [(s.profile_token, s.profile_name, s.resolution, s.fps) for s in rep.streams] == [
        ("0", "Profile_L1S1", "1920x1080", 30.0), ("1", "Profile_L1S2", "1536x864", 30.0),
        ("2", "Profile_L1S3", "1280x720", 30.0), ("3", "Profile_L1S4", "512x288", 30.0)]
    main = rep.stream("main")
    assert main is not None and main.profile_token == "0"
    assert rep.stream("sub").profile_token == "3"  # type: ignore[union-attr]
    # The camera advertised 192.168.1.201; we reach it on loopback, so the host is ours.
    assert main.uri == "rtsp://127.0.0.1/rtsp_tunnel?p=0&line=1&inst=1&vcd=2"
    assert main.snapshot_uri == f"http://127.0.0.1:{cam.port}/snap.jpg?JpegCam=1"
    caps = rep.capabilities
    assert caps.input_connectors == 1 and caps.relay_count == 1
    assert caps.events and not caps.ptz and not caps.media2
    assert caps.services["http://www.onvif.org/ver10/media/wsdl"] == \
        f"http://127.0.0.1:{cam.port}/onvif/media_service"


# One real device each: the captures it sent, and what they say.
BF5365 = {"GetCapabilities": "GetCapabilities_1.xml", "GetProfiles": "GetProfiles_1.xml",
          "GetRelayOutputs": "GetRelayOutputs_1.xml"}
BM2220 = {"GetCapabilities": "GetCapabilities_2.xml", "GetProfiles": "GetProfiles_3.xml",
          "GetRelayOutputs": "GetRelayOutputs_2.xml"}
NVR = {"GetCapabilities": "GetCapabilities_3.xml", "GetRelayOutputs": "GetRelayOutputs_3.xml"}
CASES: dict[str, tuple[str, dict[str, str], list[tuple[str, str, str, float | None]], bool, int,
                       list[str], int]] = {
    # id: (vendor dir, files, profiles (token, name, resolution, fps), ptz, inputs, relay tokens,
    #      relay outputs GetCapabilities counts)
    "dvc-DCN-BF5365": ("dvc", BF5365, [("profile_token_1", "profile1", "2592x1944", 20.0),
                                       ("profile_token_2", "profile2", "1280x720", 10.0),
                                       ("profile_token_3", "profile3", "704x576", 25.0)], False, 0, [], 0),
    "dvc-DCN-BM2220LPR": ("dvc", BM2220, [("profile1", "profile1", "1920x1080", 30.0),
                                          ("profile2", "profile2", "1280x720", 30.0),
                                          ("profile3", "profile3", "704x480", 30.0)], True, 1, ["0"], 1),
    "dvc-DRN-3282R-nvr": ("dvc", NVR, [], True, 0,
                          [f"{{00000000-0000-4000-8000-0000000000{n}}}" for n in range(11, 22)], 11),
    "ezviz-DS-2DE2C400IG": ("ezviz", {}, [("Profile_1", "mainStream", "2560x1440", 25.0),
                                          ("Profile_2", "subStream", "768x432", 10.0)], True, 0, [], 0),
    "hisilicon-oem": ("hisilicon-oem", {}, [("MainStream", "MainStream", "3072x2048", 25.0),
                                            ("SubStream", "SubStream", "704x576", 25.0)], True, 1, [], 1),
    "gsoap-mock": ("gsoap-mock", {}, [("main", "main", "1920x1080", 5.0)], True, 1, [], 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_capabilities_and_profiles_from_real_cameras(case: str) -> None:
    name, files, profiles, ptz, inputs, relays, relay_count = CASES[case]
    # hisilicon's capture advertises 127.0.0.1:1981; serve it from another loopback address.
    host = "127.0.0.2" if name == "hisilicon-oem" else "127.0.0.1"
    rep, cam = onboard_capture(name, files, host)
    assert [(s.profile_token, s.profile_name, s.resolution, s.fps) for s in rep.streams] == profiles
    caps = rep.capabilities
    assert (caps.ptz, caps.input_connectors, caps.pullpoint) == (ptz, inputs, True)
    assert caps.relay_outputs == relays
    assert caps.relay_count == relay_count
    assert files.get("GetCapabilities", "GetCapabilities_1.xml") in cam.served
    if profiles:
        # No GetStreamUri capture from these cameras: onboarding says so instead of inventing one.
        assert not any(s.uri for s in rep.streams)
        assert any("no stream URI" in w for w in rep.warnings)
    else:
        assert any("no media service" in w for w in rep.warnings)
    # Every advertised service address now points at the address we reached the camera by.
    for url in caps.services.values():
        assert f"{host}:{cam.port}" in url, url


@pytest.mark.parametrize(("name", "expected"), [
    ("dvc", [("profile_token_1", "H265", "2592x1944", 20.0, True, False),
             ("profile_token_2", "H264", "1280x720", 10.0, True, False),
             ("profile_token_3", "H265", "704x576", 25.0, True, False)]),
    ("ezviz", [("Profile_1", "H265", "2560x1440", 25.0, True, True),
               ("Profile_2", "H265", "768x432", 10.0, True, True)]),
])
def test_media2_profiles_from_real_cameras(name: str, expected: list[tuple[Any, ...]]) -> None:
    async def fn(cam: ReplayCamera, port: int) -> list[tuple[Any, ...]]:
        async with DeviceClient(parse_target(f"127.0.0.1:{port}"), "admin", "pw",
                                Timeouts(2, 5, 8)) as dc:
            await dc.capabilities()
            # As if GetServices had listed Media2 at the media address (these captures lack it).
            dc.xaddrs[NS_MEDIA2] = dc.xaddrs[NS_MEDIA]
            streams = await media2_profiles(dc)
        return [(s.profile_token, s.encoding, s.resolution, s.fps, s.audio, s.backchannel)
                for s in streams]
    assert replay(name, {"GetProfiles": "GetProfiles_2.xml"}, fn) == expected


def test_advertised_port_that_does_not_answer_is_retried_on_the_device_port() -> None:
    # hisilicon advertises 127.0.0.1:1981 for every service; serve it on 127.0.0.1 itself.
    rep, _cam = onboard_capture("hisilicon-oem", {}, "127.0.0.1")
    assert [s.profile_token for s in rep.streams] == ["MainStream", "SubStream"]
    assert any("did not answer at http://127.0.0.1:1981/onvif/media" in w for w in rep.warnings)


@pytest.mark.parametrize("variant", [1, 2])
def test_dahua_stream_and_snapshot_uris(variant: int) -> None:
    files = {"GetStreamUri": f"GetStreamUri_{variant}.xml", "GetSnapshotUri": f"GetSnapshotUri_{variant}.xml"}

    async def fn(cam: ReplayCamera, port: int) -> tuple[str | None, str | None]:
        async with DeviceClient(parse_target(f"127.0.0.1:{port}"), "admin", "pw",
                                Timeouts(2, 5, 8)) as dc:
            await dc.capabilities()
            return await stream_uri(dc, "MediaProfile000", 1)
    uri, snap = replay("dahua", files, fn)
    # Variant 2 wraps the URI in whitespace and newlines; the value is the same.
    assert uri == "rtsp://192.168.1.123:554/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif"
    assert snap == "http://192.168.1.123/onvifsnapshot/media_service/snapshot?channel=1&subtype=1"


def test_hikvision_media1_profiles() -> None:
    """Only GetProfiles was captured from this camera: ask its media service directly."""
    async def fn(cam: ReplayCamera, port: int) -> list[tuple[Any, ...]]:
        async with DeviceClient(parse_target(f"127.0.0.1:{port}"), "admin", "pw",
                                Timeouts(2, 5, 8)) as dc:
            dc.xaddrs[NS_MEDIA] = f"http://127.0.0.1:{port}/onvif/Media"
            rep = DeviceReport(address=dc.target.url, host="127.0.0.1", port=port, user="admin")
            streams = await media1_profiles(dc, rep)
        return [(s.profile_token, s.profile_name, s.encoding, s.resolution, s.fps) for s in streams]
    assert replay("hikvision", {}, fn) == [("Profile_1", "mainStream", "H264", "1920x1080", 10.0),
                                           ("Profile_2", "subStream", "H264", "640x360", 25.0)]

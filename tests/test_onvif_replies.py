"""Replies we cannot read are named in plain words; replies we can read still are.

A camera that forgets a namespace declaration (the simulator's ``undeclared_prefix``
deviation) or sends broken XML is reported as "the camera sent XML we could not read (...)"
with its address and the operation, never as a Python exception; a bare "&" in a URI, which
zeep's recovery reads correctly, is still accepted.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from lxml import etree

from tests.conftest import (
    PASSWORD,
    USER,
    Sim,
    ensure_admin,
    shared_path,
    signed_in,
    start_sim,
    vms_cmd,
)
from tests.replay_camera import FAULT
from vms.access.admin import UserAdmin
from vms.access.roles import Role
from vms.devices.commissioning import Commissioning
from vms.devices.ptz import PtzControl
from vms.errors import BadReply
from vms.onvif.camera import parse_target
from vms.onvif.http import Timeouts
from vms.onvif.onboard import onboard

INSTALLER, INSTALLER_PASSWORD = "replies-installer", "replies-installer-pass"
PHRASE = "the camera sent XML we could not read (undeclared prefix tptz)"


@pytest.fixture(scope="module")
def odd_site(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    """A PTZ camera whose PTZ replies use tptz: without declaring it."""
    tmp = tmp_path_factory.mktemp("odd")
    toml = tmp / "site.toml"
    toml.write_text('[[device]]\nname = "odd"\nkind = "camera"\nlocation = "Depot"\n'
                    'deviations = ["undeclared_prefix"]\n')
    site = start_sim(tmp / "simdata", clip_cache, "--config", str(toml))
    yield site
    site.stop()


def test_ptz_reply_with_an_undeclared_prefix_is_named_in_plain_words(
        odd_site: Sim, tmp_path: Path) -> None:
    profile, admin = signed_in(tmp_path / "profile")
    try:
        cam = Commissioning(profile, admin).add(odd_site.address("odd"), USER, PASSWORD).device_id
        UserAdmin(profile.access, admin).add(INSTALLER, Role.INSTALLER, INSTALLER_PASSWORD)
        ptz = PtzControl(profile, profile.access.sign_in(INSTALLER, INSTALLER_PASSWORD,
                                                         via="test"))
        try:
            where = odd_site.address("odd")
            for ask, op in ((ptz.position, "GetStatus"), (ptz.presets, "GetPresets")):
                with pytest.raises(BadReply) as err:
                    ask(cam).result(20)
                text = str(err.value)
                # Before: "ValueError: Invalid tag name 'tptz:PTZStatus'", or no presets at all.
                assert PHRASE in text and where in text and op in text, text
                assert "ValueError" not in text and "Invalid tag" not in text
        finally:
            ptz.close()
    finally:
        profile.close()

    env = {**os.environ, "VMS_USER": INSTALLER, "VMS_PASSWORD": INSTALLER_PASSWORD}
    res = subprocess.run(vms_cmd("--data-dir", str(tmp_path / "profile"), "devices", "presets",
                                 "odd"), capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode != 0
    assert PHRASE in res.stderr and "GetPresets" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "ValueError" not in res.stderr, res.stderr


# -- captured replies, altered ------------------------------------------------------

class Camera:
    """Serves captured replies by operation (a fault for anything else)."""

    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = replies
        self.runner: web.AppRunner | None = None

    async def _soap(self, request: web.Request) -> web.Response:
        data = await request.read()
        body = etree.fromstring(data).find("{*}Body")
        op = etree.QName(body[0]).localname if body is not None and len(body) else ""
        reply = self.replies.get(op)
        if reply is None:
            return web.Response(status=500, body=FAULT, content_type="application/soap+xml")
        return web.Response(body=reply, content_type="application/soap+xml")

    async def start(self) -> int:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._soap)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


def bosch(**changes: tuple[str, str]) -> dict[str, bytes]:
    """The Bosch FLEXIDOME's captured replies, with (old, new) text replaced per operation."""
    folder = shared_path("data/onvif-captures/bosch/GetCapabilities_1.xml").parent
    out = {}
    for f in folder.glob("*_1.xml"):
        op = f.name.rsplit("_", 1)[0]
        data = f.read_bytes()
        if op in changes:
            old, new = changes[op]
            assert old.encode() in data, (op, old)
            data = data.replace(old.encode(), new.encode())
        out[op] = data
    return out


def serve(replies: dict[str, bytes], then: object) -> object:
    async def go() -> object:
        cam = Camera(replies)
        port = await cam.start()
        try:
            return await asyncio.to_thread(then, port)  # type: ignore[arg-type]
        finally:
            assert cam.runner is not None
            await cam.runner.cleanup()
    return asyncio.run(go())


def test_a_bare_ampersand_in_a_uri_is_still_read() -> None:
    replies = bosch(GetStreamUri=("&amp;", "&"))
    assert b"p=0&line=1" in replies["GetStreamUri"]

    def probe(port: int) -> object:
        return asyncio.run(onboard(parse_target(f"127.0.0.1:{port}"), "admin", "pw",
                                   Timeouts(2, 5, 8)))
    rep = serve(replies, probe)
    main = rep.stream("main")  # type: ignore[attr-defined]
    assert main is not None and main.uri == "rtsp://127.0.0.1/rtsp_tunnel?p=0&line=1&inst=1&vcd=2"


def test_malformed_xml_is_a_bad_reply_not_an_empty_answer(tmp_path: Path) -> None:
    """Issue 22: a reply with mismatched tags was "recovered" into an empty answer."""
    replies = bosch(GetDeviceInformation=("</tds:Model>", "</tds:Modle>"),
                    GetSystemDateAndTime=("</tt:Year>", "</tt:Yaer>"))

    def probe(port: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(vms_cmd("--data-dir", str(tmp_path), "probe", f"127.0.0.1:{port}",
                                      "--user", "admin", "--password-stdin"), input="pw",
                              capture_output=True, text=True, timeout=60,
                              env=ensure_admin(tmp_path))
    res = serve(replies, probe)
    assert isinstance(res, subprocess.CompletedProcess)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "the camera sent XML we could not read (Opening and ending tag mismatch" in res.stderr
    assert "GetSystemDateAndTime" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "Device ?" not in res.stdout


def test_the_vetter_names_an_undeclared_prefix_and_repairs_a_bare_ampersand() -> None:
    from vms.onvif.http import vet_xml

    assert vet_xml(b'<a:x xmlns:a="u"><tptz:S/></a:x>')[1] == "undeclared prefix tptz"
    fixed, problem = vet_xml(b'<a:x xmlns:a="u"><u>rtsp://h/p?a=1&b=2&amp;c</u><v>a & b</v></a:x>')
    assert problem is None
    assert fixed == b'<a:x xmlns:a="u"><u>rtsp://h/p?a=1&amp;b=2&amp;c</u><v>a &amp; b</v></a:x>'
    assert vet_xml(b'<a:x xmlns:a="u"><b TLS1:2="x"/></a:x>')[1] is None  # zeep ignores it
    assert "tag mismatch" in (vet_xml(b'<a:x xmlns:a="u"><b></a:x>')[1] or "")
    assert "tag mismatch" in (vet_xml(b'<a:x xmlns:a="u"><b>&</a:x>')[1] or "")

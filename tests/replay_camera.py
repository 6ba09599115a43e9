"""A loopback HTTP server that answers SOAP requests with real camera captures.

For each request it takes the operation's local name and namespace and serves
the capture named for that operation (``files``, else ``<Op>_1.xml``) if its
response element is in the same namespace; anything else gets the SOAP 1.2 fault a camera
sends for an unsupported action. The bytes served are the capture's bytes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from aiohttp import web
from lxml import etree

from vms.safety import xmlsafe

FAULT = b"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
 xmlns:ter="http://www.onvif.org/ver10/error"><env:Body><env:Fault>
<env:Code><env:Value>env:Receiver</env:Value><env:Subcode><env:Value>ter:ActionNotSupported</env:Value>
</env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">Optional Action Not Implemented</env:Text>
</env:Reason></env:Fault></env:Body></env:Envelope>"""


class ReplayCamera:
    def __init__(self, vendor_dir: Path, files: dict[str, str] | None = None) -> None:
        self.dir = vendor_dir
        self.files = files or {}
        self.ops: Counter[str] = Counter()
        self.served: list[str] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    def _capture(self, op: str, ns: str) -> bytes | None:
        for name in (self.files.get(op), f"{op}_1.xml"):
            p = self.dir / name if name else None
            if p is not None and p.exists():
                data = p.read_bytes()
                body = xmlsafe.parse(data).find("{*}Body")
                resp = body[0] if body is not None and len(body) else None
                if resp is not None and etree.QName(resp).namespace == ns:
                    self.served.append(p.name)
                    return data
        return None

    async def _soap(self, request: web.Request) -> web.Response:
        root = xmlsafe.parse(await request.read())
        body = root.find("{*}Body")
        op_el = body[0]
        q = etree.QName(op_el)
        self.ops[q.localname] += 1
        data = self._capture(q.localname, q.namespace or "")
        if data is None:
            return web.Response(status=500, body=FAULT, content_type="application/soap+xml")
        return web.Response(status=200, body=data, content_type="application/soap+xml")

    async def start(self, host: str = "127.0.0.1") -> int:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._soap)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

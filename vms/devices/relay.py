"""A Help Point's blue light: SetRelayOutputState, DeviceIO first, then the Device service.

Relays cannot be read back in ONVIF; what the light is doing is known only from the
``tns1:Device/Trigger/Relay`` event the device sends when it changes, which the
event engine tracks. "Pulse" flashes the light (1 s on, 1 s off) until set on or
off, done by us so it works on relays that have no monostable mode.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator

from vms.access.roles import Permission
from vms.access.session import Session
from vms.coreloop import core_loop
from vms.devices.gate import DeviceGate
from vms.errors import DeviceError, ProtocolError
from vms.onvif.camera import NS_DEVICE, NS_DEVICEIO, DeviceClient, parse_target
from vms.onvif.http import Timeouts
from vms.profile import Profile
from vms.store.devices import DeviceRow

PULSE_PERIOD_S = 1.0


async def set_relay(dc: DeviceClient, token: str, active: bool) -> str:
    """Returns which service did it ("deviceio" or "device")."""
    body = (f"<m:RelayOutputToken>{_xml(token)}</m:RelayOutputToken>"
            f"<m:LogicalState>{'active' if active else 'inactive'}</m:LogicalState>")
    url = dc.xaddrs.get(NS_DEVICEIO)
    if url:
        try:
            await dc.soap(url, NS_DEVICEIO, "SetRelayOutputState", body)
            return "deviceio"
        except ProtocolError:
            pass  # some devices list DeviceIO but implement relays in the Device service only
    await dc.soap(dc.target.url, NS_DEVICE, "SetRelayOutputState", body)
    return "device"


async def relay_token(dc: DeviceClient) -> str:
    for url, ns in ((dc.xaddrs.get(NS_DEVICEIO), NS_DEVICEIO), (dc.target.url, NS_DEVICE)):
        if not url:
            continue
        try:
            res = await dc.soap(url, ns, "GetRelayOutputs")
        except ProtocolError:
            continue
        for el in res.iter("{*}RelayOutputs"):
            tok = el.get("token")
            if tok:
                return tok
    raise DeviceError(f"{dc.target.where} reports no relay output")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class RelayControl:
    def __init__(self, profile: Profile, session: Session,
                 timeouts: Timeouts | None = None) -> None:
        self.profile = profile
        self.session = session
        self.gate = DeviceGate(profile, session)
        self.timeouts = timeouts or Timeouts(connect=2.0, total=5.0)
        self._pulses: dict[int, asyncio.Task[None]] = {}

    def set(self, device_id: int, mode: str,
            incident: int | None = None) -> concurrent.futures.Future[str]:
        """``mode`` is "on", "off" or "pulse". Checked and audited here, sent on the core loop."""
        if mode not in ("on", "off", "pulse"):
            raise ValueError(mode)
        row = self.gate.allowed(device_id, Permission.RELAY, "relay.set")
        user, password = self.gate.login(row)
        self.gate.done("relay.set", row, {"mode": mode, "incident": incident})
        return core_loop().submit(self._apply(row, user, password, mode))

    @contextlib.asynccontextmanager
    async def _client(self, row: DeviceRow, user: str,
                      password: str) -> AsyncIterator[DeviceClient]:
        """Signed with the registered clock offset, services as registered (no GetServices)."""
        async with DeviceClient(parse_target(row.address), user, password, self.timeouts) as dc:
            if row.clock_offset_s is not None:
                await dc.set_offset(row.clock_offset_s)
            dc.xaddrs.update(row.capabilities.services)
            yield dc

    async def _apply(self, row: DeviceRow, user: str, password: str, mode: str) -> str:
        old = self._pulses.pop(row.id, None)
        if old is not None:
            old.cancel()
        async with self._client(row, user, password) as dc:
            token = (row.capabilities.relay_outputs[0] if row.capabilities.relay_outputs
                     else await relay_token(dc))
            how = await set_relay(dc, token, mode != "off")
        if mode == "pulse":
            self._pulses[row.id] = asyncio.get_running_loop().create_task(
                self._pulse(row, user, password, token))
        return how

    async def _pulse(self, row: DeviceRow, user: str, password: str, token: str) -> None:
        on = True
        async with self._client(row, user, password) as dc:
            while True:
                await asyncio.sleep(PULSE_PERIOD_S)
                on = not on
                try:
                    await set_relay(dc, token, on)
                except DeviceError:
                    continue  # keep flashing once it answers again

    def stop_all(self) -> None:
        for t in self._pulses.values():
            core_loop().loop.call_soon_threadsafe(t.cancel)
        self._pulses.clear()



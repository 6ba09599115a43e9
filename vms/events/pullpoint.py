"""One PullPoint subscription (ONVIF Core 9.1 / WS-BaseNotification) kept alive.

Create it for about ten minutes, ask for the current state of every property with
SetSynchronizationPoint, then long-poll PullMessages (one call outstanding, as the
spec requires) and Renew at 80 % of the lifetime the device granted. The
subscription's endpoint reference may carry reference parameters; WS-Addressing
says they go back as SOAP headers on every call, with ``wsa:To`` and ``wsa:Action``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from lxml import etree

from vms.errors import DeviceError, ProtocolError
from vms.events.notifications import Notification, parse_time, read_all
from vms.onvif.camera import NS_EVENTS, DeviceClient, child, reach_url, text

WSA = "http://www.w3.org/2005/08/addressing"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
LIFETIME_S = 600
PULL_TIMEOUT_S = 10
MESSAGE_LIMIT = 100
ACT = "http://www.onvif.org/ver10/events/wsdl"


@dataclass
class Subscription:
    address: str
    reference_parameters: list[etree._Element] = field(default_factory=list)
    lifetime_s: float = LIFETIME_S
    renew_at: float = 0.0  # monotonic

    def schedule_renewal(self, current: str | None, termination: str | None) -> None:
        now, end = parse_time(current), parse_time(termination)
        if now is not None and end is not None and end > now:
            self.lifetime_s = (end - now).total_seconds()  # both by the device's clock
        self.renew_at = time.monotonic() + max(5.0, 0.8 * self.lifetime_s)


def _headers(sub: Subscription, action: str) -> list[etree._Element]:
    to = etree.Element(f"{{{WSA}}}To")
    to.text = sub.address
    act = etree.Element(f"{{{WSA}}}Action")
    act.text = action
    out = [act, to]
    for p in sub.reference_parameters:
        copy = etree.fromstring(etree.tostring(p))
        copy.set(f"{{{WSA}}}IsReferenceParameter", "true")
        out.append(copy)
    return out


async def find_service(dc: DeviceClient, known: str | None = None) -> str:
    """The event service's address: as registered, else GetServices, else GetCapabilities."""
    if known:
        return known
    await dc.discover_services()
    url = dc.xaddrs.get(NS_EVENTS)
    if not url:
        await dc.capabilities()
        url = dc.xaddrs.get(NS_EVENTS)
    if not url:
        raise ProtocolError(f"{dc.target.where} has no event service")
    return url


async def pull_point_support(dc: DeviceClient, url: str) -> bool | None:
    """What the event service says of ``WSPullPointSupport``: None when it says nothing or
    cannot answer GetServiceCapabilities (such a device is tried with PullPoint)."""
    try:
        res = await dc.soap(url, NS_EVENTS, "GetServiceCapabilities",
                            action=f"{NS_EVENTS}/EventPortType/GetServiceCapabilitiesRequest")
    except DeviceError:
        return None
    caps = child(res, "Capabilities")
    flag = ((caps.get("WSPullPointSupport") if caps is not None else None) or "").strip().lower()
    return {"true": True, "1": True, "false": False, "0": False}.get(flag)


def not_supported(exc: ProtocolError) -> bool:
    """The device does not implement the operation (as opposed to failing at it)."""
    names = {c.lower() for c in exc.codes}
    return bool(names & {"actionnotsupported", "actionnotsupportedfault"})


async def create_or_refusal(dc: DeviceClient, url: str) -> tuple[Subscription | None, str]:
    """A PullPoint subscription; or None and why, when the device has none (it says so in
    its capabilities, or refuses the request as not supported): it is then asked to push."""
    if await pull_point_support(dc, url) is False:
        return None, "its capabilities say WSPullPointSupport=false"
    try:
        return await create(dc, url), ""
    except ProtocolError as exc:
        if not not_supported(exc):
            raise
        return None, f"it refused one: {exc}"


async def create(dc: DeviceClient, url: str, lifetime_s: int = LIFETIME_S) -> Subscription:
    body = f"<m:InitialTerminationTime>PT{lifetime_s}S</m:InitialTerminationTime>"
    res = await dc.soap(url, NS_EVENTS, "CreatePullPointSubscription", body,
                        action=f"{ACT}/EventPortType/CreatePullPointSubscriptionRequest")
    return subscription_in(dc, res, "CreatePullPointSubscription")


def subscription_in(dc: DeviceClient, res: etree._Element, op: str,
                    lifetime_s: float = LIFETIME_S) -> Subscription:
    """The subscription a CreatePullPointSubscription or Subscribe response names."""
    ref = child(res, "SubscriptionReference")
    address = text(ref, "Address")
    if not address:
        raise ProtocolError(f"{dc.target.where} answered {op} without a subscription address")
    address = reach_url(address, dc.target, keep_port=False) or address
    params_el = child(ref, "ReferenceParameters")
    params = [c for c in params_el if isinstance(c.tag, str)] if params_el is not None else []
    sub = Subscription(address, params, lifetime_s=lifetime_s)
    sub.schedule_renewal(text(res, "CurrentTime"), text(res, "TerminationTime"))
    return sub


async def synchronise(dc: DeviceClient, sub: Subscription) -> None:
    await dc.soap(sub.address, NS_EVENTS, "SetSynchronizationPoint",
                  action=f"{ACT}/PullPointSubscription/SetSynchronizationPointRequest",
                  headers=_headers(sub, f"{ACT}/PullPointSubscription/"
                                        "SetSynchronizationPointRequest"))


async def pull(dc: DeviceClient, sub: Subscription) -> list[Notification]:
    act = f"{ACT}/PullPointSubscription/PullMessagesRequest"
    body = (f"<m:Timeout>PT{PULL_TIMEOUT_S}S</m:Timeout>"
            f"<m:MessageLimit>{MESSAGE_LIMIT}</m:MessageLimit>")
    res = await dc.soap(sub.address, NS_EVENTS, "PullMessages", body, action=act,
                        headers=_headers(sub, act), timeout=PULL_TIMEOUT_S + 10)
    return read_all(res)


async def renew(dc: DeviceClient, sub: Subscription, lifetime_s: int = LIFETIME_S) -> None:
    act = "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewRequest"
    res = await dc.soap(sub.address, WSNT, "Renew",
                        f"<m:TerminationTime>PT{lifetime_s}S</m:TerminationTime>",
                        action=act, headers=_headers(sub, act))
    sub.schedule_renewal(text(res, "CurrentTime"), text(res, "TerminationTime"))


async def unsubscribe(dc: DeviceClient, sub: Subscription) -> None:
    act = "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeRequest"
    # best effort: the subscription ends by itself at its termination time
    with contextlib.suppress(Exception):
        await asyncio.wait_for(dc.soap(sub.address, WSNT, "Unsubscribe", action=act,
                                       headers=_headers(sub, act)), 3.0)


def is_gone(exc: ProtocolError) -> bool:
    """The device no longer knows the subscription (expired, or it rebooted)."""
    names = {c.lower() for c in exc.codes}
    return bool(names & {"resourceunknownfault", "invalidargval", "resourceunknown"}) \
        or "no such subscription" in str(exc).lower()


"""Turn whatever the network, aiohttp, zeep or onvif-zeep-async raised into our hierarchy,
with a sentence an installer can act on."""

from __future__ import annotations

import asyncio
import errno
import os

import aiohttp
import zeep.exceptions
from lxml import etree

from vms.errors import AuthFailed, BadReply, DeviceUnreachable, ProtocolError, VmsError
from vms.onvif.library import ONVIFError
from vms.safety.redact import scrub_url


def _fault_text(exc: zeep.exceptions.Fault) -> tuple[str, list[str]]:
    codes = []
    for c in exc.subcodes or []:
        codes.append(getattr(c, "localname", None) or str(c).rsplit("}", 1)[-1].rsplit(":", 1)[-1])
    return (exc.message or "").strip(), codes


def is_auth_fault(message: str, codes: list[str]) -> bool:
    return any(c in ("NotAuthorized", "FailedAuthentication", "InvalidSecurity") for c in codes) or (
        "not authori" in message.lower() or "unauthori" in message.lower())


def map_error(exc: BaseException, where: str, op: str, user: str | None = None,
              timeout: float | None = None) -> VmsError:
    """``where`` is host:port; ``op`` the ONVIF operation that failed."""
    if isinstance(exc, VmsError):
        return exc
    if isinstance(exc, ONVIFError) and exc.__cause__ is not None:
        return map_error(exc.__cause__, where, op, user, timeout)
    who = f"user '{user}'" if user else "the credentials"
    if isinstance(exc, zeep.exceptions.Fault):
        message, codes = _fault_text(exc)
        if is_auth_fault(message, codes):
            return AuthFailed(f"{where} refused {who} ({op}): wrong user name or password"
                              + (f" — camera said: {message}" if message else ""))
        detail = f"{message} ({', '.join(codes)})" if codes else message
        return ProtocolError(f"{where} answered {op} with an error: {scrub_url(detail) or 'no reason given'}",
                             codes)
    if isinstance(exc, zeep.exceptions.TransportError):
        if exc.status_code == 401:
            return AuthFailed(f"{where} refused {who} ({op}): wrong user name or password")
        if exc.status_code == 404:
            return ProtocolError(f"{where} has no ONVIF service there (HTTP 404 on {op}): "
                                 "not an ONVIF device, or the wrong port")
        return ProtocolError(f"{where} answered {op} with HTTP {exc.status_code}")
    if isinstance(exc, (zeep.exceptions.XMLSyntaxError, zeep.exceptions.XMLParseError,
                        etree.XMLSyntaxError)):
        return BadReply(f"{where} did not answer {op} with valid XML: not an ONVIF device?")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError)):
        t = f" within {timeout:g} s" if timeout else ""
        return DeviceUnreachable(f"{where} did not answer{t} ({op}): switched off, rebooting, "
                                 "or a firewall in the way")
    if isinstance(exc, aiohttp.ClientConnectorError):
        err = exc.os_error
        if err.errno == errno.ECONNREFUSED:
            return DeviceUnreachable(f"cannot connect to {where}: connection refused (nothing "
                                     "listens on that port: wrong port, or the device is starting)")
        reason = (os.strerror(err.errno) if err.errno else "") or err.strerror or str(err)
        reason = reason[0].lower() + reason[1:] if reason else "no route"
        return DeviceUnreachable(f"cannot connect to {where}: {reason}")
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return DeviceUnreachable(f"connection to {where} failed during {op}: {scrub_url(str(exc))}")
    if isinstance(exc, ONVIFError):
        return ProtocolError(f"{where}: {op} failed: {scrub_url(str(exc))}")
    if isinstance(exc, (zeep.exceptions.Error, ValueError, AttributeError, KeyError, TypeError)):
        # Never the exception's type name: the person reading this is not a Python programmer.
        return ProtocolError(f"{where} sent a reply to {op} we could not read "
                             f"({scrub_url(str(exc))[:200] or 'no detail'})")
    raise exc

"""SOAP envelopes for the simulator: parse requests safely, write replies and faults.

Replies are written as text in schema order (zeep reads sequences by position),
with every value escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from vms.errors import UnsafeXml
from vms.safety import xmlsafe

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

NS = {
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tr2": "http://www.onvif.org/ver20/media/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "tmd": "http://www.onvif.org/ver10/deviceIO/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wstop": "http://docs.oasis-open.org/wsn/t-1",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tns1": "http://www.onvif.org/ver10/topics",
    "ter": "http://www.onvif.org/ver10/error",
    "wsrf-rw": "http://docs.oasis-open.org/wsrf/rw-2",
    "xs": "http://www.w3.org/2001/XMLSchema",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
}
_DECLS = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items())


class SoapFault(Exception):
    """A fault to send back: ``code`` is Sender or Receiver, ``subcodes`` are QNames."""

    def __init__(self, code: str, subcodes: list[str], reason: str, http_status: int = 0,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason
        self.http_status = http_status or (400 if code == "Sender" else 500)
        self.headers = headers or {}


def not_authorized(reason: str = "Sender not authorized") -> SoapFault:
    return SoapFault("Sender", ["ter:NotAuthorized"], reason, 400)


def invalid_arg(reason: str, sub: str | None = None) -> SoapFault:
    """env:Sender / ter:InvalidArgVal [/ ``sub``], the ONVIF fault for a bad argument."""
    return SoapFault("Sender", ["ter:InvalidArgVal", *([sub] if sub else [])], reason, 400)


def no_profile(token: str) -> SoapFault:
    return invalid_arg(f"no profile {token!r}", "ter:NoProfile")


@dataclass
class WsseToken:
    username: str
    password: str
    password_type: str
    nonce: str | None
    created: str | None


@dataclass
class SoapRequest:
    soap_ns: str
    op_ns: str
    op: str
    body: etree._Element  # the operation element
    header: etree._Element | None
    token: WsseToken | None

    def find(self, path: str) -> etree._Element | None:
        return self.body.find(path, NS)

    def text(self, path: str, default: str | None = None) -> str | None:
        node = self.body.find(path, NS)
        if node is None or node.text is None:
            return default
        return node.text.strip()

    def require(self, path: str) -> str:
        value = self.text(path)
        if value is None or value == "":
            raise invalid_arg(f"{self.op}: missing {path}")
        return value


def parse_request(data: bytes) -> SoapRequest:
    try:
        root = xmlsafe.parse(data)
    except UnsafeXml as exc:
        raise SoapFault("Sender", ["ter:WellFormed"], str(exc)) from exc
    except etree.XMLSyntaxError as exc:
        raise SoapFault("Sender", ["ter:WellFormed"], f"malformed XML: {exc}") from exc
    soap_ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Envelope" or soap_ns not in (SOAP12, SOAP11):
        raise SoapFault("Sender", ["ter:WellFormed"], "not a SOAP envelope")
    header = root.find(f"{{{soap_ns}}}Header")
    body = root.find(f"{{{soap_ns}}}Body")
    if body is None:
        raise SoapFault("Sender", ["ter:WellFormed"], "SOAP envelope without a Body")
    ops = [c for c in body if isinstance(c.tag, str)]
    if len(ops) != 1:
        raise SoapFault("Sender", ["ter:WellFormed"], "SOAP Body must hold exactly one operation")
    q = etree.QName(ops[0])
    return SoapRequest(soap_ns, q.namespace or "", q.localname, ops[0], header,
                       _token(header))


def _token(header: etree._Element | None) -> WsseToken | None:
    if header is None:
        return None
    ut = header.find("wsse:Security/wsse:UsernameToken", NS)
    if ut is None:
        return None
    pw = ut.find("wsse:Password", NS)
    nonce = ut.find("wsse:Nonce", NS)
    created = ut.find("wsu:Created", NS)
    return WsseToken(
        username=(ut.findtext("wsse:Username", "", NS) or "").strip(),
        password=(pw.text or "").strip() if pw is not None else "",
        password_type=(pw.get("Type") or "") if pw is not None else "",
        nonce=(nonce.text or "").strip() if nonce is not None else None,
        created=(created.text or "").strip() if created is not None else None,
    )


def envelope(body: str, soap_ns: str = SOAP12, header: str = "",
             undeclared: frozenset[str] = frozenset()) -> bytes:
    """A reply envelope declaring every prefix in ``NS``, except ``undeclared`` ones (the
    ``undeclared_prefix`` field deviation: a firmware that forgets a declaration)."""
    head = f"<env:Header>{header}</env:Header>" if header else ""
    decls = _DECLS if not undeclared else " ".join(
        f'xmlns:{p}="{u}"' for p, u in NS.items() if p not in undeclared)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope xmlns:env="{soap_ns}" '
            f"{decls}>{head}<env:Body>{body}</env:Body></env:Envelope>").encode()


def fault_body(fault: SoapFault, soap_ns: str = SOAP12) -> bytes:
    if soap_ns == SOAP11:
        code = "env:Client" if fault.code == "Sender" else "env:Server"
        body = (f"<env:Fault><faultcode>{code}</faultcode>"
                f"<faultstring>{escape(fault.reason)}</faultstring></env:Fault>")
        return envelope(body, soap_ns)
    sub = ""
    for qname in reversed(fault.subcodes):
        sub = f"<env:Subcode><env:Value>{qname}</env:Value>{sub}</env:Subcode>"
    body = (f"<env:Fault><env:Code><env:Value>env:{fault.code}</env:Value>{sub}</env:Code>"
            f'<env:Reason><env:Text xml:lang="en">{escape(fault.reason)}</env:Text></env:Reason>'
            f"</env:Fault>")
    return envelope(body, soap_ns)


# -- writing helpers ---------------------------------------------------------

class Raw(str):
    """A fragment that is already XML (never escaped again)."""


def el(tag: str, content: object = "", **attrs: object) -> Raw:
    """``<tag a="..">content</tag>``, returned as a ``Raw`` fragment.

    Plain strings and numbers are escaped text; ``Raw`` fragments (what ``el``
    returns) and lists of them are nested as XML. Bools are written as xs:boolean;
    ``a__b`` attribute names become ``a:b``.
    """
    attr = "".join(f" {k.replace('__', ':')}={quoteattr(_s(v))}" for k, v in attrs.items()
                   if v is not None)
    if isinstance(content, list):
        inner = "".join(content)
    elif isinstance(content, Raw):
        inner = str(content)
    else:
        inner = escape(_s(content))
    return Raw(f"<{tag}{attr}>{inner}</{tag}>" if inner else f"<{tag}{attr}/>")


def _s(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def xs_datetime(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_xs_datetime(text: str) -> datetime:
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def parse_duration(text: str) -> float:
    """xs:duration (PnDTnHnMnS, the forms ONVIF uses) to seconds."""
    m = re.fullmatch(r"\s*P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?\s*", text)
    if not m or text.strip() in ("P", "PT"):
        raise invalid_arg(f"not an xs:duration: {text!r}")
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def xs_duration(seconds: float) -> str:
    return f"PT{seconds:g}S"

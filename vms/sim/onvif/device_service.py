"""Device management service (ver10/device/wsdl)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vms.sim.device import SimDevice
from vms.sim.onvif.events import service_capabilities
from vms.sim.onvif.soap import NS, Raw, SoapFault, SoapRequest, el, invalid_arg

Handler = Callable[[SimDevice, SoapRequest], str]
TDS = NS["tds"]
PATHS = {
    "device": "/onvif/device_service",
    "media": "/onvif/media_service",
    "media2": "/onvif/media2_service",
    "events": "/onvif/event_service",
    "deviceio": "/onvif/deviceio_service",
    "ptz": "/onvif/ptz_service",
}


def services(dev: SimDevice) -> list[tuple[str, str, tuple[int, int]]]:
    out = [(NS["tds"], "device", (2, 60)), (NS["trt"], "media", (2, 60)),
           (NS["tr2"], "media2", (2, 60)), (NS["tev"], "events", (2, 60))]
    if dev.is_help_point:
        out.append((NS["tmd"], "deviceio", (2, 60)))
    if dev.has_ptz:
        out.append((NS["tptz"], "ptz", (2, 60)))
    return out


def xaddr(dev: SimDevice, key: str) -> str:
    return dev.http_base + PATHS[key]


def _uk_local(now: datetime) -> tuple[str, datetime]:
    """UK civil time, as a council site's cameras are set; UTC where tzdata is missing."""
    try:
        return "GMT0BST,M3.5.0/1,M10.5.0", now.astimezone(ZoneInfo("Europe/London"))
    except ZoneInfoNotFoundError:
        return "UTC0", now


def get_system_date_and_time(dev: SimDevice, req: SoapRequest) -> str:
    now = dev.utcnow()

    def dt(tag: str, t: datetime) -> str:
        return el(tag, [el("tt:Time", [el("tt:Hour", t.hour), el("tt:Minute", t.minute),
                                       el("tt:Second", t.second)]),
                        el("tt:Date", [el("tt:Year", t.year), el("tt:Month", t.month),
                                       el("tt:Day", t.day)])])

    tz, local = _uk_local(now)
    body = [el("tt:DateTimeType", "Manual" if dev.time_manual else "NTP"),
            el("tt:DaylightSavings", local.utcoffset() != timedelta(0)),
            el("tt:TimeZone", el("tt:TZ", tz)),
            dt("tt:UTCDateTime", now), dt("tt:LocalDateTime", local)]
    return el("tds:GetSystemDateAndTimeResponse", el("tds:SystemDateAndTime", body))


def set_system_date_and_time(dev: SimDevice, req: SoapRequest) -> str:
    kind = req.require("tds:DateTimeType")
    if kind not in ("Manual", "NTP"):
        raise invalid_arg(f"DateTimeType must be Manual or NTP, not {kind!r}")
    dev.time_manual = kind == "Manual"
    if kind == "Manual":
        u = req.find("tds:UTCDateTime")
        if u is None:
            raise invalid_arg("Manual time needs UTCDateTime")
        try:
            new = datetime(int(u.findtext("tt:Date/tt:Year", "", NS)),
                           int(u.findtext("tt:Date/tt:Month", "", NS)),
                           int(u.findtext("tt:Date/tt:Day", "", NS)),
                           int(u.findtext("tt:Time/tt:Hour", "", NS)),
                           int(u.findtext("tt:Time/tt:Minute", "", NS)),
                           int(u.findtext("tt:Time/tt:Second", "", NS)), tzinfo=UTC)
        except ValueError as exc:
            raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidDateTime"],
                            f"invalid UTCDateTime: {exc}") from exc
        dev.clock_offset = new.timestamp() - time.time()
    else:
        dev.clock_offset = 0.0  # the simulated NTP server is the host clock
    return el("tds:SetSystemDateAndTimeResponse")


def get_device_information(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetDeviceInformationResponse", [
        el("tds:Manufacturer", "Beacon Simulated Devices"), el("tds:Model", dev.model),
        el("tds:FirmwareVersion", "1.0.0-sim"), el("tds:SerialNumber", dev.serial),
        el("tds:HardwareId", dev.model)])


def get_services(dev: SimDevice, req: SoapRequest) -> str:
    include = (req.text("tds:IncludeCapability", "false") or "false").lower() == "true"
    items = []
    for ns, key, (major, minor) in services(dev):
        caps = el("tds:Capabilities", Raw(_service_caps(dev, key))) if include else ""
        items.append(el("tds:Service", [el("tds:Namespace", ns), el("tds:XAddr", xaddr(dev, key)),
                                        caps, el("tds:Version", [el("tt:Major", major),
                                                                 el("tt:Minor", minor)])]))
    return el("tds:GetServicesResponse", items)


def _service_caps(dev: SimDevice, key: str) -> str:
    if key == "events":
        return Raw(service_capabilities(dev))
    if key == "deviceio":
        return el("tmd:Capabilities", VideoSources=1, VideoOutputs=0, AudioSources=1,
                  AudioOutputs=1, RelayOutputs=len(dev.relays), DigitalInputs=len(dev.inputs),
                  SerialPorts=0, DigitalInputOptions=True)
    if key == "ptz":
        return el("tptz:Capabilities", EFlip=False, Reverse=False, GetCompatibleConfigurations=False,
                  MoveStatus=True, StatusPosition=True)
    if key == "media":
        return el("trt:Capabilities", [el("trt:ProfileCapabilities", MaximumNumberOfProfiles=2),
                                       el("trt:StreamingCapabilities", RTPMulticast=False,
                                          RTP_TCP=True, RTP_RTSP_TCP=True)],
                  SnapshotUri=True, Rotation=False)
    if key == "media2":
        return el("tr2:Capabilities", [el("tr2:ProfileCapabilities", MaximumNumberOfProfiles=2),
                                       el("tr2:StreamingCapabilities", RTSPStreaming=True,
                                          RTPMulticast=False, RTP_RTSP_TCP=True)],
                  SnapshotUri=True, Rotation=False)
    return _device_caps("tds:Capabilities")


# The prefix each service's messages use (soap.NS declares them all on every reply).
PREFIX = {"device": "tds", "media": "trt", "media2": "tr2", "events": "tev", "deviceio": "tmd",
          "ptz": "tptz"}


def capabilities_handler(key: str) -> Handler:
    """GetServiceCapabilities for the service ``key``: every ONVIF service must answer it, and
    with what GetServices(IncludeCapability) says of that service (both use ``_service_caps``)."""
    def handler(dev: SimDevice, req: SoapRequest) -> str:
        return el(f"{PREFIX[key]}:GetServiceCapabilitiesResponse", Raw(_service_caps(dev, key)))
    return handler


get_service_capabilities = capabilities_handler("device")


def _device_caps(tag: str) -> str:
    return el(tag, [
        el("tds:Network", IPFilter=False, ZeroConfiguration=False, IPVersion6=False,
           DynDNS=False, NTP=1),
        el("tds:Security", UsernameToken=True, HttpDigest=True, **{"TLS1.2": False}),
        el("tds:System", DiscoveryResolve=False, DiscoveryBye=True, RemoteDiscovery=False,
           SystemBackup=False, SystemLogging=False, FirmwareUpgrade=False)])


def get_capabilities(dev: SimDevice, req: SoapRequest) -> str:
    cats = [c.text.strip() for c in req.body.findall("tds:Category", NS) if c.text] or ["All"]
    want = set(cats)

    def on(cat: str) -> bool:
        return "All" in want or cat in want

    parts = []
    if on("Device"):
        parts.append(el("tt:Device", [
            el("tt:XAddr", xaddr(dev, "device")),
            el("tt:Network", [el("tt:IPFilter", False), el("tt:ZeroConfiguration", False),
                              el("tt:IPVersion6", False), el("tt:DynDNS", False)]),
            el("tt:System", [el("tt:DiscoveryResolve", False), el("tt:DiscoveryBye", True),
                             el("tt:RemoteDiscovery", False), el("tt:SystemBackup", False),
                             el("tt:SystemLogging", False), el("tt:FirmwareUpgrade", False),
                             el("tt:SupportedVersions", [el("tt:Major", 2), el("tt:Minor", 60)])]),
            el("tt:IO", [el("tt:InputConnectors", len(dev.inputs)),
                         el("tt:RelayOutputs", len(dev.relays))]),
            el("tt:Security", [el(f"tt:{k}", v) for k, v in (
                ("TLS1.1", False), ("TLS1.2", False), ("OnboardKeyGeneration", False),
                ("AccessPolicyConfig", False), ("X.509Token", False), ("SAMLToken", False),
                ("KerberosToken", False), ("RELToken", False))])]))
    if on("Events"):
        parts.append(el("tt:Events", [el("tt:XAddr", xaddr(dev, "events")),
                                      el("tt:WSSubscriptionPolicySupport", False),
                                      el("tt:WSPullPointSupport",
                                         not dev.cfg.deviates("no_pullpoint")),
                                      el("tt:WSPausableSubscriptionManagerInterfaceSupport",
                                         False)]))
    if on("Media"):
        parts.append(el("tt:Media", [
            el("tt:XAddr", xaddr(dev, "media")),
            el("tt:StreamingCapabilities", [el("tt:RTPMulticast", False), el("tt:RTP_TCP", True),
                                            el("tt:RTP_RTSP_TCP", True)])]))
    if on("PTZ") and dev.has_ptz:
        parts.append(el("tt:PTZ", el("tt:XAddr", xaddr(dev, "ptz"))))
    if "All" in want and dev.is_help_point:
        parts.append(el("tt:Extension", el("tt:DeviceIO", [
            el("tt:XAddr", xaddr(dev, "deviceio")), el("tt:VideoSources", 1),
            el("tt:VideoOutputs", 0), el("tt:AudioSources", 1), el("tt:AudioOutputs", 1),
            el("tt:RelayOutputs", len(dev.relays))])))
    if not parts:
        raise SoapFault("Receiver", ["ter:ActionNotSupported", "ter:NoSuchService"],
                        f"no such capability category: {', '.join(cats)}")
    return el("tds:GetCapabilitiesResponse", el("tds:Capabilities", parts))


def get_scopes(dev: SimDevice, req: SoapRequest) -> str:
    items = [el("tds:Scopes", [el("tt:ScopeDef", "Fixed"), el("tt:ScopeItem", s)])
             for s in dev.fixed_scopes]
    items += [el("tds:Scopes", [el("tt:ScopeDef", "Configurable"), el("tt:ScopeItem", s)])
              for s in dev.scopes]
    return el("tds:GetScopesResponse", items)


def set_scopes(dev: SimDevice, req: SoapRequest) -> str:
    new = [s.text.strip() for s in req.body.findall("tds:Scopes", NS) if s.text and s.text.strip()]
    for s in new:
        if not s.startswith("onvif://www.onvif.org/") or any(c.isspace() for c in s):
            raise invalid_arg(f"not an ONVIF scope URI: {s!r}")
    dev.scopes = new
    return el("tds:SetScopesResponse")


def get_hostname(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetHostnameResponse", el("tds:HostnameInformation", [
        el("tt:FromDHCP", False), el("tt:Name", dev.hostname)]))


def set_hostname(dev: SimDevice, req: SoapRequest) -> str:
    name = req.require("tds:Name")
    if len(name) > 63 or not all(c.isalnum() or c == "-" for c in name):
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:InvalidHostname"],
                        f"invalid hostname {name!r}")
    dev.hostname = name
    return el("tds:SetHostnameResponse")


def get_network_interfaces(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetNetworkInterfacesResponse", el("tds:NetworkInterfaces", [
        el("tt:Enabled", True),
        el("tt:Info", [el("tt:Name", "eth0"), el("tt:HwAddress", dev.mac), el("tt:MTU", 1500)]),
        el("tt:IPv4", [el("tt:Enabled", True), el("tt:Config", [
            el("tt:Manual", [el("tt:Address", dev.site.host), el("tt:PrefixLength", 8)]),
            el("tt:DHCP", False)])])], token="eth0"))


def get_ntp(dev: SimDevice, req: SoapRequest) -> str:
    manual = [el("tt:NTPManual", [el("tt:Type", "DNS"), el("tt:DNSname", s)])
              for s in dev.ntp_servers]
    return el("tds:GetNTPResponse", el("tds:NTPInformation",
                                       [el("tt:FromDHCP", dev.ntp_from_dhcp), *manual]))


def set_ntp(dev: SimDevice, req: SoapRequest) -> str:
    dev.ntp_from_dhcp = (req.require("tds:FromDHCP").lower() == "true")
    servers = []
    for m in req.body.findall("tds:NTPManual", NS):
        addr = (m.findtext("tt:DNSname", "", NS) or m.findtext("tt:IPv4Address", "", NS)
                or m.findtext("tt:IPv6Address", "", NS)).strip()
        if not addr:
            raise invalid_arg("NTPManual entry without an address")
        servers.append(addr)
    dev.ntp_servers = servers
    return el("tds:SetNTPResponse")


def get_relay_outputs(dev: SimDevice, req: SoapRequest, prefix: str = "tds") -> str:
    return el(f"{prefix}:GetRelayOutputsResponse", [
        el(f"{prefix}:RelayOutputs", el("tt:Properties", [
            el("tt:Mode", "Bistable"), el("tt:DelayTime", "PT0S"), el("tt:IdleState", "open")]),
            token=tok) for tok in dev.relays])


def set_relay_output_state(dev: SimDevice, req: SoapRequest, prefix: str = "tds") -> str:
    tok = req.require(f"{prefix}:RelayOutputToken")
    state = req.require(f"{prefix}:LogicalState")
    if state not in ("active", "inactive"):
        raise invalid_arg(f"LogicalState must be active or inactive, not {state!r}")
    if tok not in dev.relays:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:RelayToken"],
                        f"no relay output {tok!r}")
    dev.set_relay(state == "active", tok)
    return el(f"{prefix}:SetRelayOutputStateResponse")


def add_scopes(dev: SimDevice, req: SoapRequest) -> str:
    new = [s.text.strip() for s in req.body.findall("tds:ScopeItem", NS) if s.text and s.text.strip()]
    for s in new:
        if not s.startswith("onvif://www.onvif.org/") or any(c.isspace() for c in s):
            raise invalid_arg(f"not an ONVIF scope URI: {s!r}")
    dev.scopes += [s for s in new if s not in dev.scopes]
    return el("tds:AddScopesResponse")


def remove_scopes(dev: SimDevice, req: SoapRequest) -> str:
    gone = [s.text.strip() for s in req.body.findall("tds:ScopeItem", NS) if s.text]
    if any(s in dev.fixed_scopes for s in gone):
        raise SoapFault("Sender", ["ter:OperationProhibited", "ter:FixedScope"],
                        "fixed scopes cannot be removed")
    missing = [s for s in gone if s not in dev.scopes]
    if missing:
        raise SoapFault("Sender", ["ter:InvalidArgVal", "ter:NoScope"], f"no scope {missing[0]!r}")
    dev.scopes = [s for s in dev.scopes if s not in gone]
    return el("tds:RemoveScopesResponse", [el("tds:ScopeItem", s) for s in gone])


# Read-only network and account settings (Profile S/T mandatory reads): fixed values a
# commissioning tool may show; the simulator does not model changing them.
def get_wsdl_url(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetWsdlUrlResponse", el("tds:WsdlUrl", "http://www.onvif.org/Documents/Specs.html"))


def get_dns(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetDNSResponse", el("tds:DNSInformation", el("tt:FromDHCP", False)))


def get_network_protocols(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetNetworkProtocolsResponse", [
        el("tds:NetworkProtocols", [el("tt:Name", name), el("tt:Enabled", True), el("tt:Port", port)])
        for name, port in (("HTTP", dev.http_port), ("RTSP", dev.rtsp_port))])


def get_network_default_gateway(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetNetworkDefaultGatewayResponse", el("tds:NetworkGateway", ""))


def get_discovery_mode(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetDiscoveryModeResponse", el("tds:DiscoveryMode", "Discoverable"))


def get_users(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetUsersResponse", el("tds:User", [el("tt:Username", dev.site.user),
                                                      el("tt:UserLevel", "Administrator")]))


def get_endpoint_reference(dev: SimDevice, req: SoapRequest) -> str:
    return el("tds:GetEndpointReferenceResponse", el("tds:GUID", f"urn:uuid:{dev.uuid}"))


HANDLERS = {
    "GetEndpointReference": get_endpoint_reference,
    "GetSystemDateAndTime": get_system_date_and_time,
    "SetSystemDateAndTime": set_system_date_and_time,
    "GetDeviceInformation": get_device_information,
    "GetServices": get_services,
    "GetServiceCapabilities": get_service_capabilities,
    "GetCapabilities": get_capabilities,
    "GetScopes": get_scopes,
    "SetScopes": set_scopes,
    "AddScopes": add_scopes,
    "RemoveScopes": remove_scopes,
    "GetWsdlUrl": get_wsdl_url,
    "GetDNS": get_dns,
    "GetNetworkProtocols": get_network_protocols,
    "GetNetworkDefaultGateway": get_network_default_gateway,
    "GetDiscoveryMode": get_discovery_mode,
    "GetUsers": get_users,
    "GetHostname": get_hostname,
    "SetHostname": set_hostname,
    "GetNetworkInterfaces": get_network_interfaces,
    "GetNTP": get_ntp,
    "SetNTP": set_ntp,
    "GetRelayOutputs": get_relay_outputs,
    "SetRelayOutputState": set_relay_output_state,
}
# ONVIF Core access class PRE_AUTH: answered without credentials.
PRE_AUTH = {"GetSystemDateAndTime", "GetServices", "GetServiceCapabilities", "GetCapabilities",
            "GetHostname", "GetWsdlUrl", "GetEndpointReference"}

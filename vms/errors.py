"""The one exception hierarchy of Beacon VMS (modelled on httpx).

VmsError
├── ConfigError            bad flags, settings or TOML
├── ProfileError           the data directory cannot be used
├── PortInUse              a listening port is taken (names the port)
├── SimNotRunning          a sim control command found no running site
├── DeviceError            something about one device
│   ├── DeviceUnreachable
│   ├── AuthFailed
│   ├── ClockSkew
│   └── ProtocolError      the device spoke, but not in a way we accept
│       └── BadReply       ...not even SOAP: a web page, malformed or oversized XML
│   └── TalkUnavailable    the device offers no audio backchannel (or refused it)
├── UnsafeXml              XML with a DTD or entities, refused before parsing
├── AccessError            who may do what
│   ├── SignInFailed       wrong user name or password, or no account yet
│   ├── AccountLocked      too many failed sign-ins, or disabled by an administrator
│   ├── SessionExpired     signed out after inactivity, or the session was ended
│   ├── PasswordChangeRequired
│   └── PermissionDenied   the role or the camera groups do not allow it
├── AuditError             the audit trail cannot be written or read
└── FeedError              a camera stream failed (one plain sentence)
    ├── AuthRefused        the stream refused our user name or password
    └── StreamUnavailable  the stream lacks what its reader needs (no microphone track)

Callers catch the narrowest type they can act on; nothing catches ``Exception``
just to print it, so the type of a failure survives to the place that reports it.
"""

from __future__ import annotations


class VmsError(Exception):
    """Base of every error Beacon VMS raises on purpose."""


class ConfigError(VmsError):
    pass


class ProfileError(VmsError):
    pass


class PortInUse(VmsError):
    def __init__(self, port: int, what: str) -> None:
        super().__init__(f"port {port} is already in use ({what}); choose another with --base-port")
        self.port = port
        self.what = what


class SimNotRunning(VmsError):
    pass


class DeviceError(VmsError):
    pass


class DeviceUnreachable(DeviceError):
    pass


class AuthFailed(DeviceError):
    pass


class ClockSkew(DeviceError):
    pass


class ProtocolError(DeviceError):
    def __init__(self, message: str, codes: list[str] | None = None) -> None:
        super().__init__(message)
        self.codes = codes or []  # SOAP fault subcodes, local names (e.g. ResourceUnknownFault)


class BadReply(ProtocolError):
    pass


class TalkUnavailable(DeviceError):
    pass


class CleartextPassword(DeviceError):
    """The camera asks for its password in a form anyone on the network could read."""


class UnsafeStreamUri(BadReply):
    """A stream address that is not a network stream (``file:``, a device node): refused."""


class UnsafeXml(VmsError):
    pass


class AccessError(VmsError):
    pass


class SignInFailed(AccessError):
    pass


class AccountLocked(AccessError):
    pass


class SessionExpired(AccessError):
    pass


class PasswordChangeRequired(AccessError):
    pass


class PermissionDenied(AccessError):
    pass


class AuditError(VmsError):
    pass


class SealKeyMissing(VmsError):
    """The site's audit chain has a seal key that this computer's keyring does not hold."""


# Errors of particular parts, here so that every error is a VmsError and found in one place.
class CrimeDataError(VmsError):
    """A crime file that cannot be read as police.uk street-level data."""


class IncidentError(VmsError):
    """An action that does not fit the incident's state (e.g. closing without an outcome)."""


class DuplicateDevice(VmsError):
    """A device is registered already (same identity or address)."""


class UnknownDevice(VmsError):
    """No registered device has this id or name."""


class ServiceUnavailable(VmsError):
    """No site service answers on this profile."""


class SiteUnavailable(VmsError):
    """The site's shared database cannot be reached (down, refusing us, or gone away)."""


class SiteError(VmsError):
    """The site database refused a request (not a connection problem)."""


class TalkTaken(VmsError):
    """Another operator on the site is talking to this caller; the message says who."""


class CallTaken(IncidentError):
    """Another operator has the call; the message says who, and at which workstation."""


class ServiceRunning(VmsError):
    """Another process already runs this profile's site service."""


class ExportError(VmsError):
    """The export cannot go on; nothing was left behind."""


class Cancelled(ExportError):
    """The person exporting cancelled it; nothing was left behind."""


class TimestampError(VmsError):
    """The time-stamp authority could not be reached or refused the request."""


class FeedError(VmsError):
    """A stream failed; the message is one plain sentence without credentials."""


class AuthRefused(FeedError):
    """The stream refused our user name or password."""


class StreamUnavailable(FeedError):
    """The stream lacks what its reader needs (a microphone track): trying again won't help."""

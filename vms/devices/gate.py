"""The one way to a registered device as a signed-in user.

Every device action (live view, listen, PTZ and presets, relay, talk, links, event rules,
recording, commissioning changes) passes the same three steps, in this order:

1. ``allowed``: the device is found and the user's right to act on it checked; a refusal is
   audited under the action's name and said in words that name the camera.
2. ``login``: the device's user and password, from the OS keyring only (never the database).
3. ``done``: what was done is written to the audit trail.

Between steps 1 and 2 an action checks what it needs of the device itself (a stream, a PTZ
service), so a camera that cannot do it is refused before its password is read.
"""

from __future__ import annotations

from typing import Any

from vms.access.roles import Permission
from vms.access.session import Session
from vms.errors import DeviceError
from vms.profile import Profile
from vms.store.devices import DeviceRow


def keyring_login(profile: Profile, row: DeviceRow) -> tuple[str, str] | None:
    """The device's login from the keyring, or None (for services that skip such a device)."""
    return profile.credentials.get(row.uid)


class DeviceGate:
    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session

    def allowed(self, device_id: int, permission: Permission, action: str | None = None,
                *, doing: str | None = None) -> DeviceRow:
        """The device, once the user may use ``permission`` on it (refusals audited)."""
        row = self.profile.registry.device(device_id)
        self.check(row, permission, action, doing=doing)
        return row

    def check(self, row: DeviceRow, permission: Permission, action: str | None = None,
              *, doing: str | None = None) -> None:
        """As ``allowed``, for a device already read (a list walked by a service)."""
        self.profile.access.require(self.session, permission, row, action=action, doing=doing)

    def login(self, row: DeviceRow) -> tuple[str, str]:
        """User and password for ``row``; a device whose password is not kept is refused."""
        creds = keyring_login(self.profile, row)
        if creds is None:
            raise DeviceError(f"the password for {row.name} is not in the keyring; add the "
                              "device again")
        return creds

    def done(self, action: str, row: DeviceRow, detail: dict[str, Any] | None = None) -> None:
        """Audit what was done to the device, as this user."""
        self.profile.access.record(self.session, action, device=row, detail=detail)

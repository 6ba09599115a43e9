"""Which registered devices the event engine can watch, with their keyring credentials."""

from __future__ import annotations

import logging

from vms.devices.gate import keyring_login
from vms.events.device_rules import rules_for
from vms.events.engine import DeviceSource
from vms.onvif.camera import NS_EVENTS
from vms.profile import Profile
from vms.store.devices import DeviceRow

log = logging.getLogger(__name__)


def event_sources(profile: Profile, rows: list[DeviceRow]) -> list[tuple[DeviceRow, DeviceSource]]:
    """Devices with an event service and a password; the rest are said in the log."""
    out = []
    for row in rows:
        if not row.capabilities.events:
            continue
        creds = keyring_login(profile, row)
        if creds is None:
            log.warning("no password in the keyring for %s: its events are not watched",
                        row.name)
            continue
        out.append((row, DeviceSource(row.id, row.name, row.area, row.address, creds[0],
                                      creds[1], rules_for(profile.registry, row),
                                      row.capabilities.services.get(NS_EVENTS))))
    return out

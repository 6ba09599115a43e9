"""The profile database (``ProfileStore``, every table a profile keeps) and the device
registry over it (``Registry``), one SQLite file per profile."""

from vms.store.database import ProfileStore
from vms.store.devices import DeviceRow, Registry, SightingRow

__all__ = ["DeviceRow", "ProfileStore", "Registry", "SightingRow"]

"""The device registry: one SQLite file per profile, reached only through ``Registry``."""

from vms.registry.repo import DeviceRow, Registry, SightingRow

__all__ = ["DeviceRow", "Registry", "SightingRow"]

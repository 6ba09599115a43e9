"""The site service (one alarm pipeline per profile) and its clients.

``attach`` is how a desktop finds its site: the service another process runs on the
profile, as a client; else one started in this process, so a single desk needs nothing
else running.
"""

from __future__ import annotations

from typing import Any

from vms.errors import ServiceRunning
from vms.profile import Profile
from vms.site.address import running
from vms.site.client import SiteClient, connect
from vms.site.service import SiteService


def attach(profile: Profile, **service_options: Any) -> SiteService | SiteClient:
    if running(profile.data_dir) is None:
        svc = SiteService(profile, **service_options)
        try:
            svc.claim()
        except ServiceRunning:  # another process started one a moment ago: use it
            svc.stop()
        else:
            svc.start()
            return svc
    return connect(profile)


__all__ = ["SiteClient", "SiteService", "attach", "connect", "running"]

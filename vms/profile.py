"""Everything one profile holds, opened once per process: its database, accounts, audit, keys.

The CLI and the desktop open a ``Profile``, sign a user in through ``profile.access`` and
hand the session to the services they call; each service checks it before acting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vms.access.access import Access
from vms.access.accounts import Accounts
from vms.audit.ledger import Ledger
from vms.audit.log import AuditLog
from vms.credentials import CredentialStore, open_store
from vms.store import ProfileStore, Registry

if TYPE_CHECKING:
    from vms.site.database import SiteAddress


class Profile:
    def __init__(self, data_dir: Path, *, registry: Registry | None = None,
                 credentials: CredentialStore | None = None, site: SiteAddress | None = None,
                 workstation: str | None = None) -> None:
        """``site``: a control room's site database, which then keeps the audit trail (one
        chain for the site), with ``workstation`` as this computer's name in it."""
        self.data_dir = data_dir
        self.registry = registry or Registry.for_profile(data_dir)
        # the profile database (users, groups, settings, layouts...): the registry's own
        # connection, named for what it holds
        self.store: ProfileStore = self.registry
        self.credentials = credentials or open_store(data_dir)
        self.accounts = Accounts(self.store)
        self.audit: Ledger
        if site is not None:
            from vms.audit.site_log import SiteAuditLog  # vms.site imports this module

            self.audit = SiteAuditLog(data_dir, site, self.credentials,
                                      lambda device_id: self.registry.device(device_id).uid)
        else:
            self.audit = AuditLog(data_dir, self.credentials)
        self.access = Access(self.accounts, self.audit, workstation if site else None)

    def close(self) -> None:
        self.registry.close()
        self.audit.close()

"""Setting up this workstation's evidence signing key, by someone allowed to export.

The CLI (``vms evidence-ca``) and the desktop (before the export wizard) share this, so both
check the same right and leave the same audit entry.
"""

from __future__ import annotations

from vms.access.roles import Permission
from vms.access.session import Session
from vms.evidence.ca import KEYRING_KEY, EvidenceKeys, Signer
from vms.profile import Profile


class SigningKeySetup:
    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session
        self.keys = EvidenceKeys(profile.data_dir, profile.credentials)

    @property
    def ready(self) -> bool:
        """A key is in place and its passphrase is in this computer's keyring (cheap: asked
        on the GUI thread before the wizard; a damaged key file is reported by the export)."""
        return self.keys.ready and self.keys.credentials.get(KEYRING_KEY) is not None

    def create(self, organisation: str, *, force: bool = False) -> Signer:
        """A local evidence CA and this workstation's signing certificate."""
        self.profile.access.require(self.session, Permission.EVIDENCE_EXPORT,
                                    action="evidence.key")
        signer = self.keys.init(organisation.strip() or "Beacon VMS control room",
                                self.session.actor.workstation, force=force)
        self._audit("init", signer)
        return signer

    def import_pkcs12(self, data: bytes, password: bytes | None) -> Signer:
        """The council's own certificate and key (a PKCS#12 file)."""
        self.profile.access.require(self.session, Permission.EVIDENCE_EXPORT,
                                    action="evidence.key")
        signer = self.keys.import_pkcs12(data, password)
        self._audit("import", signer)
        return signer

    def _audit(self, action: str, signer: Signer) -> None:
        self.profile.access.record(self.session, "evidence.key",
                                   detail={"action": action, "signer_sha256": signer.fingerprint})

"""Reading, exporting and verifying the audit trail, as a service that checks its caller."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from vms.access.access import Access
from vms.access.roles import Permission
from vms.access.session import Session
from vms.audit.chain import AuditEntry, Verdict
from vms.audit.log import Filter, to_csv
from vms.errors import AuditError


class AuditTrail:
    def __init__(self, access: Access, session: Session) -> None:
        self.access = access
        self.session = session
        self.log = access.audit

    def entries(self, f: Filter | None = None) -> list[AuditEntry]:
        """A review is itself audited, with its filters."""
        self.access.require(self.session, Permission.AUDIT_VIEW, action="audit.view")
        rows = self.log.entries(f)
        self.access.record(self.session, "audit.view", detail=_filter_detail(f, len(rows)))
        return rows

    def choices(self) -> tuple[list[str], list[str]]:
        """Users and actions that occur in the log, for a viewer's filters."""
        self.access.require(self.session, Permission.AUDIT_VIEW, action="audit.view")
        return self.log.users(), self.log.actions()

    def export_csv(self, f: Filter | None, path: Path) -> int:
        """Write the filtered entries as CSV (via a temporary file, so no half file is left)."""
        self.access.require(self.session, Permission.AUDIT_VIEW, action="audit.export")
        rows = self.log.entries(f)
        data = to_csv(rows).encode("utf-8-sig")  # the BOM makes Excel read UTF-8
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-", suffix=".csv")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise AuditError(f"could not write {path}: {exc.strerror}") from None
        detail = _filter_detail(f, len(rows))
        detail.update(file=path.name, sha256=hashlib.sha256(data).hexdigest())
        self.access.record(self.session, "audit.export", detail=detail)
        return len(rows)

    def verify(self) -> Verdict:
        self.access.require(self.session, Permission.AUDIT_VERIFY, action="audit.verify")
        verdict = self.log.verify()
        self.access.record(self.session, "audit.verify", outcome="ok" if verdict.ok else "failed",
                           detail={"entries": verdict.entries, "problems": len(verdict.problems)})
        return verdict


def _filter_detail(f: Filter | None, count: int) -> dict[str, object]:
    d: dict[str, object] = {"entries": count}
    if f:
        d.update({k: v for k, v in vars(f).items() if v is not None})
    return d

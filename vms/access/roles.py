"""Roles and the permission table: the one place that says who may do what.

Separation of duties follows control-room practice: operators watch and answer calls,
supervisors can also take a call from another operator and review the audit trail,
only evidence officers export, only installers change settings on devices, and
administrators manage accounts and the system but do not export or commission.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    EVIDENCE_OFFICER = "evidence_officer"
    INSTALLER = "installer"
    ADMINISTRATOR = "administrator"

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")

    @classmethod
    def parse(cls, text: str) -> Role:
        key = text.strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            from vms.errors import ConfigError

            raise ConfigError(f"unknown role '{text}' (one of: {names})") from None


class Permission(StrEnum):
    LIVE_VIEW = "live.view"
    PLAYBACK = "playback.view"
    PTZ = "ptz.control"
    TALK = "audio.talk"
    RELAY = "relay.control"
    CALL_HANDLE = "call.handle"
    CALL_FORCE_TAKE = "call.force_take"
    EVIDENCE_EXPORT = "evidence.export"
    EVIDENCE_VERIFY = "evidence.verify"
    RECORDING_DELETE = "recording.delete"
    DEVICE_DISCOVER = "device.discover"
    DEVICE_ADD = "device.add"
    DEVICE_REMOVE = "device.remove"
    DEVICE_CONFIGURE = "device.configure"
    SETTINGS = "settings.change"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    AUDIT_VERIFY = "audit.verify"
    LOANS_VIEW = "loans.view"
    LOANS_MANAGE = "loans.manage"
    PREMISES_CONTACT = "loans.contact"
    FEEDBACK_READ = "loans.feedback.read"
    REPORTS_VIEW = "reports.view"

    @property
    def describe(self) -> str:
        return _WORDS[self]


_WORDS: dict[Permission, str] = {
    Permission.LIVE_VIEW: "view live video",
    Permission.PLAYBACK: "play back recordings",
    Permission.PTZ: "move cameras (PTZ)",
    Permission.TALK: "talk through a device's speaker",
    Permission.RELAY: "switch a device's relay (blue light)",
    Permission.CALL_HANDLE: "answer Help Point calls and alarms",
    Permission.CALL_FORCE_TAKE: "take over another operator's call",
    Permission.EVIDENCE_EXPORT: "export evidence",
    Permission.EVIDENCE_VERIFY: "verify evidence packages",
    Permission.RECORDING_DELETE: "delete recordings",
    Permission.DEVICE_DISCOVER: "search the network for cameras",
    Permission.DEVICE_ADD: "add devices",
    Permission.DEVICE_REMOVE: "remove devices",
    Permission.DEVICE_CONFIGURE: "change settings on devices",
    Permission.SETTINGS: "change system settings",
    Permission.USERS_MANAGE: "manage user accounts",
    Permission.AUDIT_VIEW: "view and export the audit trail",
    Permission.AUDIT_VERIFY: "verify the audit trail",
    Permission.LOANS_VIEW: "see loaned-camera premises and deployments",
    Permission.LOANS_MANAGE: "add premises, deploy, extend and remove loaned cameras",
    Permission.PREMISES_CONTACT: "read the contact at a loan's premises (personal data)",
    Permission.FEEDBACK_READ: "read victims' feedback answers and names (personal data)",
    Permission.REPORTS_VIEW: "see the Help Point and loan programme reports",
}

P = Permission
_WATCH = {P.LIVE_VIEW, P.PLAYBACK, P.PTZ, P.TALK, P.RELAY, P.CALL_HANDLE, P.LOANS_VIEW,
          P.PREMISES_CONTACT}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(_WATCH),
    Role.SUPERVISOR: frozenset(_WATCH | {P.CALL_FORCE_TAKE, P.EVIDENCE_VERIFY, P.AUDIT_VIEW,
                                         P.AUDIT_VERIFY, P.LOANS_MANAGE, P.REPORTS_VIEW,
                                         P.FEEDBACK_READ}),
    Role.EVIDENCE_OFFICER: frozenset({P.PLAYBACK, P.EVIDENCE_EXPORT, P.EVIDENCE_VERIFY,
                                      P.AUDIT_VERIFY}),
    Role.INSTALLER: frozenset({P.LIVE_VIEW, P.PTZ, P.RELAY, P.DEVICE_DISCOVER, P.DEVICE_ADD,
                               P.DEVICE_REMOVE, P.DEVICE_CONFIGURE, P.LOANS_VIEW}),
    Role.ADMINISTRATOR: frozenset({P.LIVE_VIEW, P.PLAYBACK, P.DEVICE_DISCOVER, P.DEVICE_ADD,
                                   P.DEVICE_REMOVE, P.RECORDING_DELETE, P.SETTINGS,
                                   P.USERS_MANAGE, P.AUDIT_VIEW, P.AUDIT_VERIFY,
                                   P.LOANS_VIEW, P.LOANS_MANAGE, P.REPORTS_VIEW}),
}

# Permissions about one camera: also limited by the user's camera groups.
CAMERA_SCOPED: frozenset[Permission] = frozenset({
    P.LIVE_VIEW, P.PLAYBACK, P.PTZ, P.TALK, P.RELAY, P.CALL_HANDLE, P.CALL_FORCE_TAKE,
    P.EVIDENCE_EXPORT, P.RECORDING_DELETE, P.DEVICE_CONFIGURE, P.DEVICE_REMOVE})


def allowed(role: Role, perm: Permission) -> bool:
    return perm in GRANTS[role]


def roles_with(perm: Permission) -> list[Role]:
    return [r for r in Role if perm in GRANTS[r]]

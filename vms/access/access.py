"""Signing in and the permission check every core service makes before it acts.

``Access.require`` is the gate: it checks that the session holds, that the role has the
permission and, for a camera, that the user's camera groups reach it. A refusal is
audited and raised as ``PermissionDenied`` with a sentence a user can act on, whatever
the UI offered. ``Access.record`` writes what was done to the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from vms.access import passwords
from vms.access.accounts import Accounts, User
from vms.access.roles import CAMERA_SCOPED, Permission, Role, allowed, roles_with
from vms.access.session import Session, workstation
from vms.audit.ledger import Ledger
from vms.audit.log import LONDON, Actor
from vms.errors import AccountLocked, PasswordChangeRequired, PermissionDenied, SignInFailed


class DeviceLike(Protocol):
    id: int
    name: str
    area: str


def _roles_text(perm: Permission) -> str:
    names = [r.words + "s" for r in roles_with(perm)]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


class Access:
    def __init__(self, accounts: Accounts, audit: Ledger, workstation: str | None = None) -> None:
        self.accounts = accounts
        self.audit = audit
        self.workstation = workstation  # the site's name for this computer; None: its own

    # -- signing in ---------------------------------------------------------------
    def sign_in(self, name: str, password: str, *, via: str) -> Session:
        """Check a password; lock the account after repeated failures. The message for an
        unknown user and a wrong password is the same, so names cannot be probed."""
        host = self.workstation or workstation()
        if self.accounts.count() == 0:
            raise SignInFailed("this profile has no user accounts yet: create the first "
                               "administrator (vms users add NAME --role administrator "
                               "--password-stdin, or start the desktop)")
        user = self.accounts.find(name) if name.strip() else None
        encoded = self.accounts.password_hash(user.name) if user else None
        good = passwords.verify(encoded, password)  # costs the same when the user is unknown
        actor = Actor(user.name if user else name.strip()[:64], user.role.value if user else "",
                      host, via)
        if user is None:
            self.audit.append(actor, "login", outcome="failed", detail={"reason": "unknown user"})
            raise SignInFailed("wrong user name or password")
        if user.disabled:
            self.audit.append(actor, "login", outcome="denied", detail={"reason": "disabled"})
            raise AccountLocked(f"the account '{user.name}' is disabled; ask an administrator")
        if user.locked_now():
            self.audit.append(actor, "login", outcome="denied", detail={"reason": "locked"})
            raise AccountLocked(self._locked_text(user))
        if not good:
            user = self._count_failure(user, actor, "login", {"reason": "wrong password"})
            if user.locked_now():
                raise AccountLocked(self._locked_text(user))
            raise SignInFailed("wrong user name or password")
        if passwords.needs_rehash(encoded or ""):
            self.accounts.update(user.name, password_hash=passwords.hash_password(password))
        self.accounts.update(user.name, failed_count=0, locked_until=None,
                             last_sign_in=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        policy = self.accounts.policy()
        session = Session(user.id, user.name, user.role, via, host,
                          idle_limit_s=policy.idle_minutes * 60 if via == "desktop" else None,
                          must_change_password=user.must_change)
        self.record(session, "login", detail={"session": session.id})
        return session

    def _count_failure(self, user: User, actor: Actor, action: str,
                       detail: dict[str, Any] | None = None) -> User:
        """A wrong password, at sign-in or on the lock screen: count it, lock when due."""
        user = self.accounts.record_failure(user, self.accounts.policy())
        self.audit.append(actor, action, outcome="failed",
                          detail={**(detail or {}), "failures": user.failed_count})
        if user.locked_now():
            self.audit.append(actor, "account.locked", detail={"failures": user.failed_count})
        return user

    @staticmethod
    def _locked_text(user: User) -> str:
        until = dt.datetime.fromisoformat(user.locked_until or "").astimezone(LONDON)
        return (f"the account '{user.name}' is locked after {user.failed_count} failed sign-ins; "
                f"try again after {until:%H:%M} {until.tzname()} or ask an administrator to "
                "unlock it")

    def sign_out(self, session: Session, reason: str = "signed out") -> None:
        if session.ended:
            return
        session.ended = True
        self.record(session, "logout", detail={"session": session.id, "reason": reason})
        self.audit.checkpoint()

    def lock(self, session: Session, reason: str = "inactivity") -> None:
        if not session.locked:
            session.locked = True
            session.lock_reason = reason
            self.record(session, "session.locked", detail={"reason": reason})

    def check(self, session: Session) -> None:
        """Raise if the session cannot act. A session found idle is locked here, with its audit
        entry, whichever thread finds it first (a worker may, before the desktop's timer)."""
        if not session.ended and session.idle_expired():
            self.lock(session, "inactivity")
        session.check()

    def unlock(self, session: Session, password: str) -> None:
        """Only the same user's password unlocks; anyone else signs the session out first."""
        if session.ended:
            session.check()  # raises: a signed-out session cannot be unlocked
        user = self.accounts.user(session.user)
        if user.disabled or user.locked_now():
            raise AccountLocked(self._locked_text(user) if user.locked_now() else
                                f"the account '{user.name}' is disabled; ask an administrator")
        if not passwords.verify(self.accounts.password_hash(user.name), password):
            user = self._count_failure(user, session.actor, "session.unlock")
            if user.locked_now():
                self.sign_out(session, "account locked")
                raise AccountLocked(self._locked_text(user))
            raise SignInFailed("wrong password")
        self.accounts.update(user.name, failed_count=0)
        session.resume()
        self.record(session, "session.unlocked")

    # -- the gate -----------------------------------------------------------------
    def can(self, session: Session, perm: Permission, device: DeviceLike | None = None) -> bool:
        if session.system:
            return True
        if not allowed(session.role, perm):
            return False
        if device is None or perm not in CAMERA_SCOPED:
            return True
        return self._reaches(self.accounts.find(session.user), device.id)

    def _reachable(self, user: User | None) -> set[int] | None:
        """Device ids a user's camera groups reach; None: every camera."""
        if user is None or user.disabled:
            return set()
        if user.role is Role.ADMINISTRATOR or user.all_cameras:
            return None
        return self.accounts.camera_ids(user.id)

    def _reaches(self, user: User | None, device_id: int) -> bool:
        ids = self._reachable(user)
        return ids is None or device_id in ids

    def require(self, session: Session, perm: Permission, device: DeviceLike | None = None,
                *, action: str | None = None, doing: str | None = None) -> None:
        """Refuse (audited) unless the session may use ``perm`` on ``device``. ``doing`` names
        the act in the refusal when it is narrower than the permission's own words (seeing
        a camera's presets needs the PTZ permission, but is not "moving cameras")."""
        self.check(session)
        if session.system:
            return
        if session.must_change_password:
            raise PasswordChangeRequired(f"{session.user} must choose a new password before "
                                         "doing anything else (vms users passwd)")
        user = self.accounts.find(session.user)
        if user is None or user.disabled or user.role is not session.role:
            session.ended = True
            raise PermissionDenied(f"the account '{session.user}' was changed or disabled by an "
                                   "administrator; sign in again")
        why = None
        if not allowed(session.role, perm):
            if doing:  # name the act asked for, and the permission it is part of
                why = (f"{session.role.words}s may not {doing}: that needs the permission to "
                       f"{perm.describe}, which {_roles_text(perm)} have")
            else:
                why = (f"{session.role.words}s may not {perm.describe}; that needs the role of "
                       f"{_roles_text(perm)}")
        elif device is not None and perm in CAMERA_SCOPED and not self._reaches(user, device.id):
            why = (f"{session.user} has no access to camera '{device.name}' ({device.area}); an "
                   "administrator can add it to one of your camera groups")
        if why:
            self.record(session, action or perm.value, device=device, outcome="denied",
                        detail={"permission": perm.value})
            raise PermissionDenied(why)
        session.touch()

    def visible(self, session: Session, devices: list[Any]) -> list[Any]:
        """The devices this user may see at all (any camera-scoped permission on them)."""
        self.check(session)
        if session.system:
            return devices
        ids = self._reachable(self.accounts.find(session.user))
        return devices if ids is None else [d for d in devices if d.id in ids]

    def record(self, session: Session, action: str, *, device: DeviceLike | None = None,
               outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
        self.audit.append(session.actor, action, outcome=outcome,
                          device_id=device.id if device else None,
                          device=device.name if device else None,
                          area=device.area if device else None, detail=detail)


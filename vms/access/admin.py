"""Account administration as a service: every call checks the caller's session first."""

from __future__ import annotations

from vms.access import passwords
from vms.access.access import Access
from vms.access.accounts import Group, User
from vms.access.roles import Permission, Role
from vms.access.session import Session
from vms.audit.log import Actor
from vms.errors import ConfigError, PermissionDenied, SignInFailed

P = Permission


def create_first_administrator(access: Access, name: str, password: str, *, via: str,
                               workstation: str) -> User:
    """First run: the only account anyone may create without signing in."""
    if access.accounts.count():
        raise PermissionDenied("this profile already has accounts: an administrator must sign in "
                               "to add users")
    user = access.accounts.create(name, Role.ADMINISTRATOR, password, created_by=None)
    access.audit.append(Actor(user.name, user.role.value, workstation, via), "user.add",
                        detail={"user": user.name, "role": user.role.value, "first_run": True})
    access.audit.checkpoint()
    return user


class UserAdmin:
    def __init__(self, access: Access, session: Session) -> None:
        self.access = access
        self.session = session
        self.accounts = access.accounts

    def _gate(self, action: str) -> None:
        self.access.require(self.session, P.USERS_MANAGE, action=action)

    def _record(self, action: str, **detail: object) -> None:
        self.access.record(self.session, action, detail=detail)

    def users(self) -> list[User]:
        self._gate("user.list")
        return self.accounts.users()

    def groups(self) -> list[Group]:
        self._gate("group.list")
        return self.accounts.groups()

    def add(self, name: str, role: Role, password: str, groups: list[str] | None = None, *,
            temporary: bool = False) -> User:
        """``temporary``: the user must choose their own password at first sign-in."""
        self._gate("user.add")
        user = self.accounts.create(name, role, password, created_by=self.session.user,
                                    groups=groups, temporary=temporary)
        self._record("user.add", user=user.name, role=role.value,
                     cameras="all" if groups is None else groups)
        return user

    def reset_password(self, name: str, temporary: str) -> User:
        """A temporary password the user must change at the next sign-in."""
        self._gate("user.password_reset")
        user = self.accounts.user(name)
        self.accounts.set_password(user.name, temporary, must_change=True)
        self._record("user.password_reset", user=user.name)
        return self.accounts.user(name)

    def _keep_an_administrator(self, user: User) -> None:
        if user.role is not Role.ADMINISTRATOR:
            return
        active = [u for u in self.accounts.users()
                  if u.role is Role.ADMINISTRATOR and not u.disabled and u.id != user.id]
        if not active:
            raise ConfigError(f"'{user.name}' is the last active administrator; make another "
                              "administrator first")

    def set_role(self, name: str, role: Role) -> User:
        self._gate("user.role")
        user = self.accounts.user(name)
        if role is not Role.ADMINISTRATOR:
            self._keep_an_administrator(user)
        updated = self.accounts.update(user.name, role=role)
        self._record("user.role", user=user.name, old=user.role.value, new=role.value)
        return updated

    def set_disabled(self, name: str, disabled: bool) -> User:
        self._gate("user.disable" if disabled else "user.enable")
        user = self.accounts.user(name)
        if disabled:
            self._keep_an_administrator(user)
        updated = self.accounts.update(user.name, disabled=disabled)
        self._record("user.disable" if disabled else "user.enable", user=user.name)
        return updated

    def unlock(self, name: str) -> User:
        self._gate("user.unlock")
        user = self.accounts.update(self.accounts.user(name).name, failed_count=0, locked_until=None)
        self._record("user.unlock", user=user.name)
        return user

    def set_groups(self, name: str, groups: list[str] | None) -> User:
        self._gate("user.cameras")
        user = self.accounts.set_user_groups(name, groups)
        self._record("user.cameras", user=user.name, cameras="all" if groups is None else groups)
        return user

    def add_group(self, name: str, areas: list[str], devices: list[int]) -> Group:
        self._gate("group.add")
        group = self.accounts.create_group(name, areas=areas, devices=devices)
        self._record("group.add", group=group.name, areas=areas, devices=devices)
        return group


def change_own_password(access: Access, session: Session, current: str, new: str) -> None:
    """Any signed-in user, including one who must change a temporary password."""
    access.check(session)
    user = access.accounts.user(session.user)
    if not passwords.verify(access.accounts.password_hash(user.name), current):
        access.record(session, "user.password_change", outcome="failed",
                      detail={"reason": "wrong current password"})
        raise SignInFailed("the current password is wrong")
    if new == current:
        raise ConfigError("the new password must differ from the current one")
    access.accounts.set_password(user.name, new, must_change=False)
    session.must_change_password = False
    access.record(session, "user.password_change", detail={"user": user.name})


def change_setting(access: Access, session: Session, key: str, value: str) -> None:
    access.require(session, P.SETTINGS, action="settings.change")
    old = access.accounts.settings().get(key)
    access.accounts.set_setting(key, value, session.user)
    access.record(session, "settings.change", detail={"key": key, "old": old, "new": value})

"""A signed-in user: who, in which role, from where, and whether the session still holds."""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field

from vms.access.roles import Role
from vms.audit.log import Actor
from vms.errors import SessionExpired

SERVICE_USER, SERVICE_ROLE = "site-service", "service"


def workstation() -> str:
    return socket.gethostname() or "unknown"


@dataclass
class Session:
    user_id: int
    user: str
    role: Role
    via: str  # "desktop" | "cli"
    workstation: str = field(default_factory=workstation)
    idle_limit_s: float | None = None  # None: no inactivity limit (a CLI command)
    must_change_password: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    ended: bool = False
    locked: bool = False
    lock_reason: str = ""  # "inactivity", or what the user or desktop said when locking
    system: bool = False  # the site service acting on its own authority, not a person

    @property
    def actor(self) -> Actor:
        return Actor(self.user, SERVICE_ROLE if self.system else self.role.value,
                     self.workstation, self.via)

    def idle_s(self) -> float:
        return time.monotonic() - self.last_active

    def idle_expired(self) -> bool:
        return self.idle_limit_s is not None and self.idle_s() >= self.idle_limit_s

    def touch(self) -> None:
        """The user did something; only a live, unlocked session counts it."""
        if not (self.ended or self.locked or self.idle_expired()):
            self.last_active = time.monotonic()

    def resume(self) -> None:
        """Unlocked with the user's password: the idle clock starts again."""
        self.locked = False
        self.lock_reason = ""
        self.last_active = time.monotonic()

    def check(self) -> None:
        if self.ended:
            raise SessionExpired(f"{self.user} has signed out; sign in again")
        if self.locked and self.lock_reason not in ("", "inactivity"):
            raise SessionExpired(f"the session of {self.user} is locked ({self.lock_reason}); "
                                 "unlock it to continue")
        if self.locked or self.idle_expired():
            self.locked = True
            self.lock_reason = self.lock_reason or "inactivity"
            minutes = (self.idle_limit_s or 0) / 60
            raise SessionExpired(f"the session of {self.user} locked after {minutes:g} minutes "
                                 "without activity; unlock it to continue")


def service_session() -> Session:
    """The site service's own identity: it records, raises calls and locks evidence for every
    device of the profile whoever is signed in, and its audit entries say so. Its authority is
    the operating-system account that runs it (the one that owns the profile), not a Beacon
    password; it is never made from anything a client sends."""
    return Session(user_id=0, user=SERVICE_USER, role=Role.ADMINISTRATOR, via="service",
                   system=True)

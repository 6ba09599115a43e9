"""Account passwords: argon2id (RFC 9106's second recommended profile: 64 MiB, t=3, p=4).

Only the encoded hash is stored; a password is never logged, audited or kept in an object
longer than the call that checks it. Verification takes ~0.1 s here, on purpose.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vms.errors import ConfigError

MIN_LENGTH = 10
_hasher = PasswordHasher()  # argon2id, memory 64 MiB, time cost 3, parallelism 4
# Checked against when the user name is unknown, so that a miss costs as long as a hit.
_DUMMY = _hasher.hash("beacon-no-such-user")


def check_policy(password: str, user: str) -> None:
    """NCSC guidance: length over complexity rules; refuse the obvious."""
    if len(password) < MIN_LENGTH:
        raise ConfigError(f"a password needs at least {MIN_LENGTH} characters")
    if password.strip().lower() in (user.strip().lower(), "password", "beacon-vms"):
        raise ConfigError("that password is too easy to guess")
    if password != password.strip():
        raise ConfigError("a password must not start or end with a space")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(encoded: str | None, password: str) -> bool:
    try:
        return _hasher.verify(encoded or _DUMMY, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    return _hasher.check_needs_rehash(encoded)

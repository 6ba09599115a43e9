"""Camera credentials: the OS keyring, or an encrypted file where a machine has none.

Credentials never go into SQLite, logs, exceptions or URLs; the registry keeps only
a key (the device uid) to look them up here.

Backends:
- An OS keyring (Windows Credential Manager on control-room workstations, macOS
  Keychain, Secret Service on a Linux desktop) is used when ``keyring`` finds one.
- ``PYTHON_KEYRING_BACKEND`` forces a backend; tests use keyrings.alt's plain file backend.
- Otherwise (a headless Linux recording box) an encrypted file store in the profile:
  Fernet (AES-128-CBC + HMAC) with a key derived from a random key file in the profile
  and this machine's id. It keeps passwords out of backups and copies of the profile;
  it does not protect against someone who can read the profile on this machine.

Every change to a file store is made under a lock beside its file, held across threads
and processes: a change reads, modifies and rewrites the whole file (keyrings.alt's file
backends do the same), and without the lock a bulk add of eight cameras lost one.
The file is replaced atomically, so a crash leaves the old or the new one, never half.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path

import filelock
import keyring
import keyring.backend
import keyring.errors
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vms.errors import ConfigError, ProfileError

log = logging.getLogger(__name__)
SERVICE = "beacon-vms"
_OS_KEYRINGS = ("keyring.backends.Windows", "keyring.backends.macOS",
                "keyring.backends.SecretService", "keyring.backends.libsecret",
                "keyring.backends.kwallet")
FALLBACK_NOTICE = ("This computer has no system keyring, so camera passwords are kept in an "
                   "encrypted file in the Beacon profile ({path}). Anyone who can read this "
                   "account's files on this computer can recover them; keep the profile private.")


LOCK_TIMEOUT_S = 30.0


class CredentialStore:
    """Get/set/delete a (user, password) pair per device key; changes are serialised."""

    name = "base"
    notice: str | None = None  # said once, when a fallback store is first created
    _lock: filelock.BaseFileLock | None = None

    def locked(self) -> contextlib.AbstractContextManager[object]:
        """Held around every change (and read, so no read sees a half-made change)."""
        if self._lock is None:
            return contextlib.nullcontext()
        try:
            return self._lock.acquire(timeout=LOCK_TIMEOUT_S)
        except filelock.Timeout:
            raise ProfileError(f"the credential store is busy ({self._lock.lock_file} held by "
                               f"another program for over {LOCK_TIMEOUT_S:.0f} s)") from None

    def set(self, key: str, user: str, password: str) -> None:
        raise NotImplementedError

    def get(self, key: str) -> tuple[str, str] | None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError


def _file_lock(beside: str | Path) -> filelock.BaseFileLock:
    """The lock of the store file ``beside`` (threads and processes alike)."""
    return filelock.FileLock(f"{beside}.lock", thread_local=True)


class KeyringStore(CredentialStore):
    def __init__(self, backend: keyring.backend.KeyringBackend) -> None:
        self.backend = backend
        self.name = f"keyring ({type(backend).__module__}.{type(backend).__name__})"
        # OS keyrings change one entry at a time; file backends (keyrings.alt) rewrite a whole
        # file, so they are locked beside that file (the profile is left alone).
        path = getattr(backend, "file_path", None)
        self._lock = _file_lock(path) if path else None

    def set(self, key: str, user: str, password: str) -> None:
        try:
            with self.locked():
                self.backend.set_password(SERVICE, key,
                                          json.dumps({"user": user, "password": password}))
        except keyring.errors.KeyringError as exc:
            raise ProfileError(f"the system keyring refused to store a password: {exc}") from None

    def get(self, key: str) -> tuple[str, str] | None:
        try:
            with self.locked():
                raw = self.backend.get_password(SERVICE, key)
        except keyring.errors.KeyringError as exc:
            raise ProfileError(f"the system keyring could not be read: {exc}") from None
        if raw is None:
            return None
        data = json.loads(raw)
        return data["user"], data["password"]

    def delete(self, key: str) -> None:
        # deleting what is not there: nothing to do
        with self.locked(), contextlib.suppress(keyring.errors.PasswordDeleteError):
            self.backend.delete_password(SERVICE, key)


def _machine_id() -> bytes:
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            return Path(p).read_bytes().strip()
        except OSError:
            continue
    return b"no-machine-id"


class EncryptedFileStore(CredentialStore):
    name = "encrypted file"

    def __init__(self, profile: Path) -> None:
        self.path = profile / "credentials.enc"
        self.key_path = profile / "credentials.key"
        profile.mkdir(parents=True, exist_ok=True)
        self._lock = _file_lock(profile / "credentials")
        with self.locked():
            self._open_key(profile)

    def _open_key(self, profile: Path) -> None:
        if not self.key_path.exists():
            profile.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(32))
            self.notice = FALLBACK_NOTICE.format(path=self.path)
            log.info("%s", self.notice)
        secret = self.key_path.read_bytes()
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"beacon-vms credentials v1",
                       info=_machine_id()).derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data: dict[str, dict[str, str]] = json.loads(self._fernet.decrypt(blob))
            return data
        except InvalidToken:
            raise ProfileError(f"{self.path} cannot be decrypted on this computer (copied from "
                               "another machine, or its key file changed); add the cameras' "
                               "passwords again") from None

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        blob = self._fernet.encrypt(json.dumps(data).encode())
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".credentials.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def set(self, key: str, user: str, password: str) -> None:
        with self.locked():
            data = self._load()
            data[key] = {"user": user, "password": password}
            self._save(data)

    def get(self, key: str) -> tuple[str, str] | None:
        with self.locked():
            item = self._load().get(key)
        return (item["user"], item["password"]) if item else None

    def delete(self, key: str) -> None:
        with self.locked():
            data = self._load()
            if data.pop(key, None) is not None:
                self._save(data)


def _is_os_keyring(backend: keyring.backend.KeyringBackend) -> bool:
    backends = getattr(backend, "backends", None)
    if backends is not None:  # the chainer: fine if it holds a real one
        return any(_is_os_keyring(b) for b in backends)
    return type(backend).__module__.startswith(_OS_KEYRINGS) and backend.priority >= 1


def open_store(profile: Path) -> CredentialStore:
    """The store this profile uses (see module docstring for the order)."""
    forced = os.environ.get("PYTHON_KEYRING_BACKEND")
    try:
        backend = keyring.get_keyring()
    except (keyring.errors.KeyringError, ValueError, ImportError) as exc:
        if forced:
            raise ConfigError(f"PYTHON_KEYRING_BACKEND={forced} cannot be used: {exc}") from None
        backend = None
    if forced and backend is not None and "fail" not in type(backend).__module__:
        return KeyringStore(backend)
    if backend is not None and not forced and _is_os_keyring(backend):
        return KeyringStore(backend)
    return EncryptedFileStore(profile)

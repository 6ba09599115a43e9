"""Shared fixtures: a real ``vms sim`` in a subprocess, on loopback, on its own profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import audio_sink
from vms.errors import VmsError
from vms.sim.launcher import EPHEMERAL, SimProcess

# Qt's offscreen platform, with one 1920x1080 screen (a control-room monitor) instead of its
# default 800x800: windows are placed and screenshots taken as on the real desk.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen:configfile="
                      + str(Path(__file__).with_name("offscreen-1920x1080.json")))
# Camera passwords go to keyrings.alt's file backend in a throw-away directory, never to
# the developer's own keyring (tests of the no-keyring fallback override this).
_KEYRING_HOME = tempfile.mkdtemp(prefix="vms-test-keyring-")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
os.environ["XDG_DATA_HOME"] = _KEYRING_HOME

# A null audio sink of this process's own, before anything touches Qt Multimedia: the desk's
# alert is played for real and can be recorded (``tests/audio_sink.py``).
audio_sink.start_for_tests()

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VMS_SHARED_DIR", REPO.parent / "shared"))
USER, PASSWORD = "admin", "beacon-sim"
# The Beacon account tests sign in as (not a device's login).
ADMIN, ADMIN_PASSWORD = "root-admin", "test-admin-passphrase"


def shared_path(rel: str) -> Path:
    """A file from ../shared; skip where it is absent, fail in CI (VMS_REQUIRE_SHARED=1)."""
    path = SHARED / rel
    if not path.exists():
        msg = f"shared data {path} is missing"
        if os.environ.get("VMS_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " (VMS_REQUIRE_SHARED=1)")
        pytest.skip(msg)
    return path


def wait_for(pred: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``pred`` until it is true; fail saying what never happened."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def vms_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "vms", *args]


def ensure_admin(profile: Path) -> dict[str, str]:
    """Give a profile its first administrator (once); returns an environment signed in as them."""
    from vms.access.admin import create_first_administrator
    from vms.profile import Profile

    p = Profile(profile)
    try:
        if p.accounts.count() == 0:
            create_first_administrator(p.access, ADMIN, ADMIN_PASSWORD, via="test",
                                       workstation="test")
    finally:
        p.close()
    return {**os.environ, "VMS_USER": ADMIN, "VMS_PASSWORD": ADMIN_PASSWORD}


def signed_in(profile: Path, user: str = ADMIN, password: str = ADMIN_PASSWORD,
              via: str = "desktop") -> tuple[Any, Any]:
    """An open ``Profile`` and a session on it (the first administrator by default)."""
    from vms.profile import Profile

    ensure_admin(profile)
    p = Profile(profile)
    return p, p.access.sign_in(user, password, via=via)


class Sim(SimProcess):
    """A running simulator plus the helpers tests use on it."""

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def device(self, name: str) -> dict[str, Any]:
        return next(d for d in self.state()["devices"] if d["name"] == name)

    def address(self, name: str) -> str:
        """A device's ONVIF address as HOST:PORT (what an installer types)."""
        return str(self.device(name)["onvif"]).split("//", 1)[1].split("/", 1)[0]

    def live(self, name: str) -> dict[str, Any]:
        """A device's current state, from the running simulator's status API. Asked over
        HTTP directly (what ``vms sim status`` does), not through a CLI process: on a loaded
        machine a process start takes about as long as a blue-light pulse, and polling at
        that pace can see only one phase of the flashing."""
        from vms.sim import control

        st = control.status(self.data_dir)
        return next(d for d in st["devices"] if d["name"] == name)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(vms_cmd("--data-dir", str(self.data_dir), "sim", *args),
                             capture_output=True, text=True, timeout=60)
        if check and res.returncode != 0:
            raise AssertionError(f"vms sim {' '.join(args)} failed: {res.stderr}")
        return res


def start_sim(data_dir: Path, clip_cache: Path, *extra: str, env: dict[str, str] | None = None,
              wait: float = 600.0) -> Sim:
    data_dir.mkdir(parents=True, exist_ok=True)
    sim = Sim(data_dir, *EPHEMERAL, *extra, clip_cache=clip_cache, env=env,
              log_path=data_dir.parent / f"{data_dir.name}-sim.log")
    sim.start()
    try:
        sim.wait_ready(wait)
    except VmsError as exc:
        sim.stop()
        raise AssertionError(f"{exc}\n{sim.log_text()}") from exc
    return sim


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clips are encoded once per test session and shared by every simulator started in it
    (and with a test session run inside this one: ``VMS_TEST_CLIP_CACHE``)."""
    given = os.environ.get("VMS_TEST_CLIP_CACHE")
    return Path(given) if given else tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory, clip_cache: Path) -> Iterator[Sim]:
    """The default site (4 cameras, 2 Help Points, 2 PID cameras), shared by the session."""
    s = start_sim(tmp_path_factory.mktemp("profile") / "data", clip_cache)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A real PostgreSQL for the session, started by the tests themselves (tests/pgcluster.py)."""
    from tests.pgcluster import Cluster

    c = Cluster()
    yield c
    c.close()


@pytest.fixture()
def site_url(pg_cluster: Any) -> str:
    """A fresh site database on that server: its address (the password is not in it)."""
    return str(pg_cluster.create_database())


@pytest.fixture()
def site_of() -> Iterator[Callable[..., Any]]:
    """``site_of(profile, **options)``: the profile's site service for a desktop under test
    (``vms.site.attach``, as the desktop's main does), stopped at the end whatever happens:
    a service left running would record through every later test."""
    from vms.site import SiteService, attach

    opened: list[Any] = []

    def make(profile: Any, **options: Any) -> Any:
        site = attach(profile, **options)
        opened.append(site)
        return site
    yield make
    for site in opened:
        site.stop() if isinstance(site, SiteService) else site.close()


@pytest.fixture(scope="session")
def qapp_cls() -> type:
    """pytest-qt's application: one that lets the GUI-thread guard see event delivery."""
    from tests.gui_guard import GuardedApplication
    return GuardedApplication


@pytest.fixture(autouse=True)
def no_endless_modal(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test stuck in a modal dialog or menu nobody answers is failed, not left to hang.

    pytest-timeout's failure is raised inside Qt's event delivery, where Qt catches it and the
    dialog's own loop goes on: the run hung until CI's limit. Shortly before that timeout, this
    closes whatever modal window is open (its ``exec()`` returns, the test unwinds) and fails the
    test with the window's words."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QTimer

    from tests.gui_guard import close_modals

    marker = request.node.get_closest_marker("timeout")
    given = (marker.args[0] if marker.args else marker.kwargs.get("timeout")) if marker else None
    if given is None:  # pytest-timeout's order: the marker, then --timeout, then the ini
        given = request.config.getoption("timeout", None) or request.config.getini("timeout")
    limit = float(given or 0)
    if limit <= 0:
        yield
        return
    waited = max(limit * 0.8, limit - 30.0)  # before pytest-timeout's own, which would hang
    closed: list[str] = []
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: closed.extend(close_modals()))
    timer.start(int(waited * 1000))
    try:
        yield
    finally:
        timer.stop()
    if closed:
        pytest.fail(f"the test waited {waited:.0f} s on a window nobody answered; closed: "
                    + "; ".join(closed), pytrace=False)


@pytest.fixture(autouse=True)
def gui_thread_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """No SQLite statement, socket call or sleep while Qt runs the desktop's code on the GUI
    thread (issue 24). Only for tests that use Qt."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from tests import gui_guard
    gui_guard.violations.clear()
    gui_guard.enabled[0] = True
    try:
        yield
    finally:
        gui_guard.enabled[0] = False
    found = list(dict.fromkeys(gui_guard.violations))
    gui_guard.violations.clear()
    if found:
        pytest.fail("the desktop blocked its GUI thread (issue 24; run it through ui.tasks):\n"
                    + "\n".join(found[:20]), pytrace=False)

"""A control room under load: how fast a press and an accept reach every desk on a site.

Starts ``vms sim`` (one Help Point), ``vms serve --site`` as the recording host ("rec-1")
and ``--desks`` desk processes (default 3), all joined to one PostgreSQL site: the one
named by ``VMS_SITE`` (its password in ``VMS_SITE_PASSWORD``; it must be a database no other
profile has joined), else one this benchmark starts itself (``initdb``/``pg_ctl`` in a
temporary directory, as the tests do). Each desk is the desktop's own call path in an
offscreen Qt process: its ``SiteDesk`` (site queue, ``LISTEN``, heartbeat) behind the
``ServiceLink`` the windows observe; a desk has "seen" a change when the link's signal has
reached its GUI thread, where the call list and panes are drawn. No video is opened, so the
figures are the call's own path, not decoding on two cores.

For each of ``--presses`` presses (through the simulator's control API):

- press -> all desks: the latest of the desks' GUI threads to see the new call (event
  subscription, the host's insert, ``NOTIFY``, each desk's re-read);
- a race: every desk accepts the call at the same instant; exactly one must win, and the
  others must be told who has it;
- accept -> others: from the winner's accept to the last other desk's GUI thread showing the
  call accepted.

Then the winner closes it and the button is released. Reference, same run and server: a bare
``NOTIFY`` from one connection to a ``LISTEN`` on another (the database's own push floor).
Targets (issue 25): both p95 < 300 ms; a single winner in every race.

``python benchmarks/control_room.py --presses 50``
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
TARGETS = {"press_to_all_desks_ms_p95": 300.0, "accept_to_others_ms_p95": 300.0}
ADMIN, ADMIN_PW = "bench-admin", "bench-admin-pass"


def summary(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    p95 = s[min(len(s) - 1, max(0, round(0.95 * len(s)) - 1))]
    return {"p50": round(statistics.median(s), 1), "p95": round(p95, 1), "max": round(s[-1], 1)}


# -- one desk (a process of its own) -----------------------------------------------------------

def desk_main(profile_dir: str, site: str, name: str, user: str, password: str) -> int:
    """A desk: prints one JSON line per change its GUI thread is shown, and obeys
    ``{"do": "accept"|"close", "id": N, "at": UNIX_TIME}`` lines on stdin."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QObject, Signal, Slot
    from PySide6.QtWidgets import QApplication

    from ui.calls.service_link import ServiceLink
    from vms.errors import VmsError
    from vms.incidents.queue import Incident
    from vms.profile import Profile
    from vms.site.client import connect
    from vms.site.database import SiteAddress
    from vms.site.desk import SiteDesk

    app = QApplication(sys.argv[:1])
    profile = Profile(Path(profile_dir))
    session = profile.access.sign_in(user, password, via="desktop")
    desk = SiteDesk(profile, SiteAddress.parse(site), name).start()
    desk.signed_in(user)
    link = ServiceLink(profile, session, connect(profile), desk=desk)
    lock = threading.Lock()

    def say(**out: Any) -> None:
        with lock:
            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()

    class Gui(QObject):
        done = Signal()  # stdin closed: quit, from the GUI thread

        @Slot(object)
        def shown(self, inc: Incident) -> None:  # runs in the GUI thread, queued as the panes'
            say(seen=inc.id, state=inc.state, owner=inc.owner, t=time.time())

    gui = Gui()
    link.incident_changed.connect(gui.shown)
    gui.done.connect(app.quit)

    def obey() -> None:
        for line in sys.stdin:
            cmd = json.loads(line)
            time.sleep(max(0.0, float(cmd.get("at", 0)) - time.time()))
            t = time.time()
            try:
                if cmd["do"] == "accept":
                    inc = desk.queue.accept(session, int(cmd["id"]))
                else:
                    inc = desk.queue.close(session, int(cmd["id"]), "test")
                say(done=cmd["do"], id=inc.id, ok=True, t=t, owner=inc.owner)
            except VmsError as exc:
                say(done=cmd["do"], id=int(cmd["id"]), ok=False, t=t, error=str(exc))
        gui.done.emit()

    threading.Thread(target=obey, daemon=True).start()
    say(ready=True)
    app.exec()
    link.shutdown()
    desk.stop()
    profile.close()
    return 0


class DeskProcess:
    def __init__(self, profile: Path, site: str, name: str, user: str, password: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--desk", str(profile), site, name,
             user, password], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(profile.parent / f"{name}.log", "w"),  # noqa: SIM115 (the child's)
            text=True, bufsize=1)
        self.log = profile.parent / f"{name}.log"
        self.seen: dict[tuple[int, str], float] = {}  # (call, state) -> first shown
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            if msg.get("ready"):
                self.ready.set()
            elif "seen" in msg:
                self.seen.setdefault((msg["seen"], msg["state"]), msg["t"])
            else:
                self.replies.put(msg)

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def reply(self, timeout: float = 30.0) -> dict[str, Any]:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"benchmark failed: {self.name} did not answer in {timeout} s; "
                             f"its log ends:\n{tail}") from None

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def wait(cond: Any, timeout: float, what: str) -> None:
    start = end = time.monotonic()
    end += timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"benchmark failed: no {what} within {timeout} s")
        time.sleep(0.002)
    if time.monotonic() - start > 2:
        print(f"{what}: {time.monotonic() - start:.1f} s", file=sys.stderr)


def shown(desks: list[DeskProcess], iid: int, state: str) -> bool:
    return all((iid, state) in d.seen for d in desks)


def notify_reference(url: str, password: str, rounds: int) -> list[float]:
    """NOTIFY on one connection to its arrival at a LISTEN on another: the push floor."""
    import psycopg

    out = []
    with psycopg.connect(url, password=password, autocommit=True) as listen, \
            psycopg.connect(url, password=password, autocommit=True) as send:
        listen.execute("LISTEN bench_reference")
        for i in range(rounds):
            t = time.perf_counter()
            send.execute("SELECT pg_notify('bench_reference', %s)", (str(i),))
            for _n in listen.notifies(timeout=5, stop_after=1):
                out.append((time.perf_counter() - t) * 1000)
    return out


# -- the run -----------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=50)
    ap.add_argument("--desks", type=int, default=3)
    ap.add_argument("--clip-cache", type=Path, default=Path(tempfile.gettempdir()) /
                    "beacon-bench-clips")
    ap.add_argument("--desk", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.desk:
        sys.exit(desk_main(*args.desk))

    from vms.access.admin import UserAdmin, create_first_administrator
    from vms.access.roles import Role
    from vms.devices.commissioning import Commissioning
    from vms.profile import Profile
    from vms.sim import control
    from vms.sim.launcher import EPHEMERAL, SimProcess
    from vms.site.database import SiteAddress, SiteDatabase

    cluster = None
    if os.environ.get("VMS_SITE"):
        url, pg_password = os.environ["VMS_SITE"], os.environ.get("VMS_SITE_PASSWORD", "")
        where = "VMS_SITE"
    else:
        from tests.pgcluster import SUPERUSER_PASSWORD, Cluster

        cluster = Cluster()
        url, pg_password, where = cluster.create_database(), SUPERUSER_PASSWORD, "started here"
    address = SiteAddress.parse(url)
    desks: list[DeskProcess] = []
    serve = sim = None
    with tempfile.TemporaryDirectory(prefix="vms-cr-") as tmp:
        os.environ["XDG_DATA_HOME"] = tmp  # the keyring file every process of the run shares
        data = Path(tmp) / "sim"
        try:
            sim = SimProcess(data, *EPHEMERAL, "--cameras", "0", "--help-points", "1", "--pid",
                             "0", "--no-discovery", clip_cache=args.clip_cache)
            sim.start()
            sim.wait_ready(900)
            dev = control.status(data)["devices"][0]

            profile = Profile(Path(tmp) / "site")
            create_first_administrator(profile.access, ADMIN, ADMIN_PW, via="cli",
                                       workstation="bench")
            admin = profile.access.sign_in(ADMIN, ADMIN_PW, via="cli")
            ops = [(f"bench-op{i}", f"bench-op{i}-password") for i in range(1, args.desks + 1)]
            for user, pw in ops:
                UserAdmin(profile.access, admin).add(user, Role.OPERATOR, pw)
            Commissioning(profile, admin).add(dev["onvif"], "admin", "beacon-sim")
            profile.credentials.set(address.credential_key, address.user, pg_password)
            SiteDatabase.open(address, profile.credentials).close()
            profile.close()

            log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115 (closed with the process)
            serve = subprocess.Popen(
                [sys.executable, "-m", "vms", "--data-dir", str(Path(tmp) / "site"), "--site",
                 url, "--workstation", "rec-1", "serve"], cwd=REPO, stdout=log,
                stderr=subprocess.STDOUT)
            wait(lambda: "events: ok" in (Path(tmp) / "serve.log").read_text(), 120,
                 "event subscription in vms serve")
            desks = [DeskProcess(Path(tmp) / "site", url, f"desk-{i}", user, pw)
                     for i, (user, pw) in enumerate(ops, 1)]
            for d in desks:
                if not d.ready.wait(120):
                    raise SystemExit(f"benchmark failed: {d.name} not ready in 120 s; its log "
                                     f"ends:\n{d.log.read_text(errors='replace')[-2000:]}")
            time.sleep(1.0)  # every desk's first heartbeat and LISTEN in place

            to_all: list[float] = []
            to_others: list[float] = []
            singles, known = 0, set[int]()
            for n in range(args.presses):
                t0 = time.time()
                control.action(data, dev["name"], "press")

                def new_call() -> int | None:  # the readers add to d.seen meanwhile: copies
                    ids = {i for d in desks for (i, s) in list(d.seen) if s == "new"} - known
                    return min(ids) if ids else None
                wait(lambda: new_call() is not None, 15, f"call for press {n + 1}")
                iid = new_call()
                assert iid is not None
                known.add(iid)
                wait(partial(shown, desks, iid, "new"), 15,
                     f"press {n + 1} at every desk")
                to_all.append((max(d.seen[(iid, "new")] for d in desks) - t0) * 1000)

                at = time.time() + 0.15
                for d in desks:
                    d.send(do="accept", id=iid, at=at)
                answers = [(d, d.reply()) for d in desks]
                winners = [(d, r) for d, r in answers if r["ok"]]
                refused = [r for _d, r in answers if not r["ok"]]
                # the others told who has it: "X (at desk-1) has just taken this call", or,
                # for a desk that read the call after the accept, a refused take-over of it
                if len(winners) == 1 and all(f"{winners[0][1]['owner']} (at " in r["error"]
                                             for r in refused):
                    singles += 1
                if winners:
                    won, said = winners[0]
                    others = [d for d in desks if d is not won]
                    wait(partial(shown, others, iid, "accepted"), 15,
                         f"accept of call {iid} at the other desks")
                    to_others.append((max(d.seen[(iid, "accepted")] for d in others)
                                      - said["t"]) * 1000)
                    won.send(do="close", id=iid)
                    closed = won.reply()
                    if not closed["ok"]:
                        raise SystemExit(f"benchmark failed: {won.name} could not close call "
                                         f"{iid}: {closed['error']}")
                    wait(partial(shown, desks, iid, "closed"), 15,
                         f"close of call {iid} everywhere")
                control.action(data, dev["name"], "release")
                time.sleep(0.3)

            ref = notify_reference(url, pg_password, 50)
            all_p95 = summary(to_all)["p95"]
            others_p95 = summary(to_others)["p95"] if to_others else float("inf")
            result = {
                "presses": args.presses,
                "desks": args.desks,
                "site": where,
                "press_to_all_desks_ms": summary(to_all),
                "accept_to_others_ms": summary(to_others) if to_others else None,
                "race_trials": args.presses,
                "race_single_winner": singles,
                "reference_notify_ms": summary(ref),
                "targets": {**TARGETS, "race_single_winner": "every trial"},
                "targets_met": all_p95 < TARGETS["press_to_all_desks_ms_p95"]
                and others_p95 < TARGETS["accept_to_others_ms_p95"] and singles == args.presses,
            }
            print(json.dumps(result))
        finally:
            for d in desks:
                d.stop()
            if serve is not None:
                serve.terminate()
                serve.wait(60)
            if sim is not None:
                sim.stop()
            if cluster is not None:
                cluster.close()


if __name__ == "__main__":
    main()

"""A headless workstation on a site, driven by JSON lines on stdin: the tests' stand-in for
an operator's desk process, so that races and kills involve real processes.

    python -m tests.site_desk PROFILE SITE WORKSTATION USER PASSWORD

prints {"ready": true} once it is on the site (joined, heartbeat running), then answers
each command with one line: {"do": "accept"|"close"|"hold", "id": N, "at": UNIX_TIME}, or
{"do": "talk", "device": N} (take the site's talk lock for that caller)
("at": wait until then, so several desks act at the same instant).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    from vms.errors import VmsError
    from vms.incidents.queue import IncidentQueue
    from vms.profile import Profile
    from vms.site.database import SiteDatabase
    from vms.site.talk_floor import TalkFloor
    from vms.site.workstations import Heartbeat, Workstations

    profile_dir, site, name, user, password = sys.argv[1:6]
    profile = Profile(Path(profile_dir))
    session = profile.access.sign_in(user, password, via="desktop")
    db = SiteDatabase.open(site, profile.credentials)
    queue = IncidentQueue(profile, db, workstation=name)
    Heartbeat(Workstations(SiteDatabase(site, profile.credentials)), name, user,
              every_s=1.0).start()
    floor = TalkFloor(SiteDatabase(site, profile.credentials), name,
                      lambda i: profile.registry.device(i).uid)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd: dict[str, Any] = json.loads(line)
        time.sleep(max(0.0, float(cmd.get("at", 0)) - time.time()))
        try:
            if cmd["do"] == "accept":
                inc = queue.accept(session, int(cmd["id"]))
            elif cmd["do"] == "hold":
                inc = queue.hold(session, int(cmd["id"]))
            elif cmd["do"] == "talk":  # the site's talk lock for a caller (a device id)
                floor.take(int(cmd["device"]), user)
                print(json.dumps({"ok": True, "talking": True}), flush=True)
                continue
            else:
                inc = queue.close(session, int(cmd["id"]), "test")
            out: dict[str, Any] = {"ok": True, "owner": inc.owner,
                                   "workstation": inc.workstation, "state": inc.state}
        except VmsError as exc:
            out = {"ok": False, "error": str(exc), "type": type(exc).__name__}
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

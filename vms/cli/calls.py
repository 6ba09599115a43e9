"""``vms calls``: the call and alarm queue from a script or a terminal.

With a site service running on the profile (``vms serve``, or an open desktop) every
action goes to it, exactly as a desktop's does; with none, the queue is opened directly
(nothing else writes it then).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
from collections.abc import Iterator

from vms.access.roles import Permission
from vms.access.session import Session
from vms.cli.common import Subparsers, command, site_address, workstation
from vms.errors import ConfigError
from vms.events.store import EventStore
from vms.incidents.queue import KIND_WORDS, OUTCOMES, STATE_WORDS, Incident, IncidentQueue
from vms.incidents.words import describe
from vms.profile import Profile
from vms.site.database import SiteDatabase


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("calls", parents=[common], help="list and handle calls and alarms",
                       description="The queue of Help Point calls and alarms. Actions go "
                                   "through the site service when one runs on the profile.")
    acts = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = acts.add_parser("list", parents=[common], help="open calls, most urgent first")
    a.add_argument("--all", action="store_true", help="also the last 100 closed ones")
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("show", parents=[common], help="one call with its log")
    a.add_argument("id", type=int)
    a.add_argument("--json", action="store_true", help="print JSON")
    a = acts.add_parser("accept", parents=[common], help="take a call")
    a.add_argument("id", type=int)
    a = acts.add_parser("hold", parents=[common], help="put your call on hold")
    a.add_argument("id", type=int)
    a.add_argument("--reason", default="", help="why (kept in the call's log)")
    a = acts.add_parser("hand-over", parents=[common], help="give your call to another operator")
    a.add_argument("id", type=int)
    a.add_argument("user")
    a = acts.add_parser("note", parents=[common], help="add a note to your call")
    a.add_argument("id", type=int)
    a.add_argument("text")
    a = acts.add_parser("close", parents=[common], help="close your call with an outcome")
    a.add_argument("id", type=int)
    a.add_argument("--outcome", required=True, metavar="CODE",
                   help="one of: " + ", ".join(OUTCOMES))
    a.add_argument("--note", default="", help="a last note")
    command(p, run)


@contextlib.contextmanager
def _queue(profile: Profile, args: argparse.Namespace) -> Iterator[IncidentQueue]:
    from vms.site.address import running
    from vms.site.client import connect

    address = site_address(args)
    if address is not None:  # a control room: the queue every desk of the site shares
        db = SiteDatabase.open(address, profile.credentials)
        try:
            yield IncidentQueue(profile, db, workstation=workstation(args))
        finally:
            db.close()
        return
    if running(profile.data_dir) is not None:
        client = connect(profile)
        try:
            yield client.queue
        finally:
            client.close()
        return
    store = EventStore.for_profile(profile.data_dir)
    try:
        yield IncidentQueue(profile, store)
    finally:
        store.close()


def _line(inc: Incident) -> str:
    owner = (f"{inc.owner} at {inc.workstation}" if inc.owner and inc.workstation
             else inc.owner or "-")
    return (f"{inc.id:>5}  {STATE_WORDS.get(inc.state, inc.state):<9} P{inc.priority}  "
            f"{KIND_WORDS.get(inc.kind, inc.kind):<16} {inc.device} ({inc.area})  "
            f"raised {inc.raised_utc}  owner {owner}")


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    profile.access.require(session, Permission.CALL_HANDLE, action="calls.view")
    with _queue(profile, args) as q:
        if args.action == "list":
            incs = q.open_incidents()
            if args.all:
                incs += q.recently_closed(100)
            visible = {d.id for d in profile.access.visible(session, profile.registry.devices())}
            incs = [i for i in incs if i.device_id in visible]
            if args.json:
                print(json.dumps([dataclasses.asdict(i) for i in incs], indent=2))
            else:
                for i in incs:
                    print(_line(i))
                print(f"{len(incs)} call{'s' if len(incs) != 1 else ''}.")
            return 0
        if args.action == "show":
            inc = q.get(args.id)
            actions = q.actions(args.id)
            if args.json:
                print(json.dumps({**dataclasses.asdict(inc), "actions": actions}, indent=2))
            else:
                print(_line(inc))
                for a in actions:
                    print(f"  {a['utc']}  {a['user']:<12} {describe(a['action'], a['detail'])}")
            return 0
        inc = _act(q, session, args)
    print(_line(inc))
    return 0


def _act(q: IncidentQueue, session: Session, args: argparse.Namespace) -> Incident:
    if args.action == "accept":
        return q.accept(session, args.id)
    if args.action == "hold":
        return q.hold(session, args.id, args.reason)
    if args.action == "hand-over":
        return q.hand_over(session, args.id, args.user)
    if args.action == "note":
        return q.note(session, args.id, args.text)
    if args.action == "close":
        if args.outcome not in OUTCOMES:
            raise ConfigError(f"unknown outcome '{args.outcome}' (one of: {', '.join(OUTCOMES)})")
        return q.close(session, args.id, args.outcome, args.note)
    raise ConfigError(f"unknown action {args.action}")

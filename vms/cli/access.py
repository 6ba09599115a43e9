"""Signing in from the command line, and ``vms users``, ``vms groups``, ``vms settings``,
``vms audit``."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from vms.access.admin import UserAdmin, change_own_password, change_setting, create_first_administrator
from vms.access.roles import Role
from vms.access.session import Session, workstation
from vms.audit.log import Filter, london
from vms.audit.trail import AuditTrail
from vms.cli.common import Subparsers, command
from vms.errors import ConfigError, SignInFailed
from vms.profile import Profile

SIGN_IN_HELP = ("Every command except 'vms sim' runs as a Beacon user: set VMS_USER and "
                "VMS_PASSWORD, or run it in a terminal to be asked.")


def sign_in(profile: Profile) -> Session:
    """VMS_USER/VMS_PASSWORD, else a prompt on a terminal; refuse plainly otherwise."""
    user = os.environ.get("VMS_USER", "")
    password = os.environ.get("VMS_PASSWORD")
    if not user or password is None:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise SignInFailed("not signed in: set VMS_USER and VMS_PASSWORD for this command "
                               "(or run it in a terminal to be asked)")
        if not user:
            print("Beacon user: ", end="", file=sys.stderr, flush=True)
            user = sys.stdin.readline().strip()
        password = getpass.getpass(f"Beacon password for {user}: ")
    return profile.access.sign_in(user, password, via="cli")


def read_new_password(args: argparse.Namespace, who: str) -> str:
    if getattr(args, "password_stdin", False):
        pw = sys.stdin.readline().rstrip("\r\n")
        if not pw:
            raise ConfigError("no password on standard input")
        return pw
    if sys.stdin.isatty():
        first = getpass.getpass(f"New password for {who}: ")
        if getpass.getpass("Again: ") != first:
            raise ConfigError("the two passwords differ")
        return first
    raise ConfigError("give the new password on standard input with --password-stdin")


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    users = sub.add_parser("users", parents=[common], help="user accounts",
                           description="Beacon user accounts. " + SIGN_IN_HELP)
    acts = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    a = acts.add_parser("add", parents=[common], help="add a user (the first one: the administrator)",
                        description="Add a user. On a profile with no accounts this creates the "
                                    "first administrator without signing in; afterwards an "
                                    "administrator must be signed in.")
    a.add_argument("name")
    a.add_argument("--role", required=True, help=", ".join(r.value for r in Role))
    a.add_argument("--group", action="append", default=None, metavar="GROUP",
                   help="limit the user to this camera group's cameras (repeatable; "
                        "default: every camera)")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the new user's password from standard input")
    a = acts.add_parser("list", parents=[common], help="list users")
    a.add_argument("--json", action="store_true")
    a = acts.add_parser("passwd", parents=[common], help="change your own password",
                        description="Change the signed-in user's password (VMS_PASSWORD is the "
                                    "current one).")
    a.add_argument("--password-stdin", action="store_true", help="read the new password from stdin")
    a = acts.add_parser("reset", parents=[common],
                        help="give a user a temporary password to change at next sign-in")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true")
    a = acts.add_parser("set", parents=[common], help="change a user's role, cameras or state")
    a.add_argument("name")
    a.add_argument("--role")
    a.add_argument("--group", action="append", default=None, metavar="GROUP",
                   help="only these camera groups' cameras (repeatable)")
    a.add_argument("--all-cameras", action="store_true", help="every camera")
    state = a.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true")
    state.add_argument("--enable", action="store_true")
    a.add_argument("--unlock", action="store_true", help="clear failed sign-ins and the lock")

    groups = sub.add_parser("groups", parents=[common], help="camera groups (who sees which cameras)")
    acts = groups.add_subparsers(dest="groups_action", metavar="ACTION", required=True)
    a = acts.add_parser("add", parents=[common], help="a group of areas and/or devices")
    a.add_argument("name")
    a.add_argument("--area", action="append", default=[], help="every device of this area")
    a.add_argument("--device", action="append", type=int, default=[], metavar="ID")
    a = acts.add_parser("list", parents=[common])
    a.add_argument("--json", action="store_true")

    settings = sub.add_parser("settings", parents=[common], help="account and session policy")
    acts = settings.add_subparsers(dest="settings_action", metavar="ACTION", required=True)
    acts.add_parser("list", parents=[common])
    a = acts.add_parser("set", parents=[common],
                        help="idle_minutes | lock_after_failures | lock_minutes")
    a.add_argument("key")
    a.add_argument("value")

    audit = sub.add_parser("audit", parents=[common], help="the tamper-evident audit trail")
    acts = audit.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    a = acts.add_parser("verify", parents=[common],
                        help="check the hash chain, seals and checkpoints; exit 1 if tampered")
    a.add_argument("--json", action="store_true")
    a = acts.add_parser("list", parents=[common], help="show entries (filters combine)")
    a.add_argument("--user")
    a.add_argument("--camera", type=int, metavar="ID")
    a.add_argument("--action", help="e.g. live.start, or a prefix such as live.")
    a.add_argument("--since", metavar="UTC-ISO")
    a.add_argument("--until", metavar="UTC-ISO")
    a.add_argument("--limit", type=int)
    out = a.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", type=Path, metavar="FILE", help="write CSV for a review")
    for name in ("users", "groups", "settings", "audit"):
        command(sub.choices[name], run)


def first_run(args: argparse.Namespace, profile: Profile) -> bool:
    """``vms users add`` on a profile with no accounts: the first administrator."""
    if not (args.command == "users" and args.users_action == "add"
            and profile.accounts.count() == 0):
        return False
    if Role.parse(args.role) is not Role.ADMINISTRATOR:
        raise ConfigError("the first account of a profile must be an administrator "
                          "(--role administrator)")
    pw = read_new_password(args, args.name)
    user = create_first_administrator(profile.access, args.name, pw, via="cli",
                                      workstation=workstation())
    print(f"Created the first administrator, '{user.name}'. Sign in as them to add other users.")
    return True


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    if args.command == "users":
        return _users(args, profile, session)
    if args.command == "groups":
        admin = UserAdmin(profile.access, session)
        if args.groups_action == "add":
            g = admin.add_group(args.name, args.area, args.device)
            print(f"Added camera group '{g.name}': areas {g.areas or '-'}, devices {g.device_ids or '-'}")
            return 0
        gs = admin.groups()
        if args.json:
            print(json.dumps([vars(g) for g in gs], indent=2))
        for g in [] if args.json else gs:
            print(f"{g.name:<24} areas: {', '.join(g.areas) or '-'}   devices: "
                  f"{', '.join(map(str, g.device_ids)) or '-'}")
        return 0
    if args.command == "settings":
        if args.settings_action == "set":
            change_setting(profile.access, session, args.key, args.value)
            print(f"{args.key} = {args.value}")
            return 0
        print(json.dumps(vars(profile.accounts.policy()), indent=2))
        return 0
    if args.command == "audit":
        return _audit(args, profile, session)
    raise ConfigError(f"unknown command {args.command}")


def _users(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    admin = UserAdmin(profile.access, session)
    act = args.users_action
    if act == "passwd":
        change_own_password(profile.access, session, os.environ.get("VMS_PASSWORD") or
                            getpass.getpass("Current password: "),
                            read_new_password(args, session.user))
        print(f"Password changed for {session.user}.")
        return 0
    if act == "add":
        role = Role.parse(args.role)
        user = admin.add(args.name, role, read_new_password(args, args.name), args.group)
        cams = "every camera" if user.all_cameras else "cameras of " + ", ".join(user.groups)
        print(f"Added {role.words} '{user.name}' ({cams}).")
        return 0
    if act == "list":
        users = admin.users()
        if args.json:
            print(json.dumps([u.to_json() for u in users], indent=2))
            return 0
        print(f"{'name':<20} {'role':<18} {'state':<22} cameras")
        for u in users:
            cams = "all" if u.all_cameras else ", ".join(u.groups) or "none"
            print(f"{u.name:<20} {u.role.words:<18} {u.state():<22} {cams}")
        return 0
    if act == "reset":
        admin.reset_password(args.name, read_new_password(args, args.name))
        print(f"'{args.name}' has a temporary password and must choose a new one at sign-in.")
        return 0
    if act == "set":
        done = []
        if args.role:
            admin.set_role(args.name, Role.parse(args.role))
            done.append(f"role {args.role}")
        if args.all_cameras or args.group:
            if args.all_cameras and args.group:
                raise ConfigError("give --all-cameras or --group, not both")
            admin.set_groups(args.name, None if args.all_cameras else args.group)
            done.append("cameras")
        if args.disable or args.enable:
            admin.set_disabled(args.name, args.disable)
            done.append("disabled" if args.disable else "enabled")
        if args.unlock:
            admin.unlock(args.name)
            done.append("unlocked")
        if not done:
            raise ConfigError("nothing to change: give --role, --group, --all-cameras, "
                              "--disable, --enable or --unlock")
        print(f"{args.name}: {', '.join(done)}.")
        return 0
    raise ConfigError(f"unknown users action {act}")


def _audit(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    trail = AuditTrail(profile.access, session)
    if args.audit_action == "verify":
        v = trail.verify()
        if args.json:
            print(json.dumps(v.to_json(), indent=2))
        elif v.ok:
            print(f"Audit trail intact: {v.entries} entries, {v.checkpoints} checkpoints agree, "
                  f"head {v.head[:16]}.")
        else:
            print(f"AUDIT TRAIL TAMPERED: {len(v.problems)} problem"
                  f"{'s' if len(v.problems) != 1 else ''} in {v.entries} entries:")
            for p in v.problems:
                print(f"  - {p.message}")
        return 0 if v.ok else 1
    f = Filter(user=args.user, device_id=args.camera, action=args.action, since=args.since,
               until=args.until, limit=args.limit)
    if args.csv:
        n = trail.export_csv(f, args.csv)
        print(f"Wrote {n} entries to {args.csv}.")
        return 0
    rows = trail.entries(f)
    if args.json:
        print(json.dumps([e.to_json() for e in rows], indent=2))
        return 0
    for e in rows:
        cam = f" {e.device} (#{e.device_id})" if e.device else ""
        out = "" if e.outcome == "ok" else f" [{e.outcome.upper()}]"
        print(f"{e.seq:>6} {london(e.at)} {e.user:<14} {e.action}{cam}{out} {e.detail}")
    return 0

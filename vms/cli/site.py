"""``vms site``: join a control room's shared database, and see who is on it.

``vms site password`` keeps the database password in this computer's credential store (the
OS keyring), never in the address, a file or the profile database; it is checked against
the database before it is kept. ``vms site status`` says whether the site answers and
which workstations are on it.
"""

from __future__ import annotations

import argparse
import json
import sys

from vms.access.roles import Permission
from vms.access.session import Session
from vms.cli.common import Subparsers, command, read_password, site_address
from vms.errors import ConfigError, VmsError
from vms.profile import Profile
from vms.site.database import SiteAddress, SiteDatabase


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("site", parents=[common], help="the control room's shared site database",
                       description="Join a control room's shared site database (PostgreSQL) "
                                   "with --site or VMS_SITE.")
    acts = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = acts.add_parser("password", parents=[common],
                        help="keep the site database's password in this computer's keyring")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input (first line)")
    a = acts.add_parser("seal-key", parents=[common],
                        help="show the site's audit seal key, or keep it in this computer's keyring",
                        description="Every workstation of a site seals its audit entries with the "
                                    "site's one key. On a computer that has it, --show prints it "
                                    "(administrators); on one that does not, --key-stdin keeps "
                                    "it, after checking it is the site's.")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("--show", action="store_true", help="print the key's id and the key (hex)")
    g.add_argument("--key-stdin", action="store_true",
                   help="read the key (hex) from standard input and keep it")
    a = acts.add_parser("status", parents=[common],
                        help="whether the site database answers, and its workstations")
    a.add_argument("--json", action="store_true", help="print JSON")
    command(p, run)


def _address(args: argparse.Namespace) -> SiteAddress:
    address = site_address(args)
    if address is None:
        raise ConfigError("name the site with --site postgresql://USER@HOST:PORT/DATABASE "
                          "or VMS_SITE")
    return address


def run(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    address = _address(args)
    if args.action == "password":
        profile.access.require(session, Permission.SETTINGS, action="site.password")
        args.user = address.user
        password = read_password(args)
        db = SiteDatabase(address, profile.credentials)
        try:  # a password the database refuses is never kept (the one before stays)
            db.check_password(password)
        except VmsError as exc:
            profile.access.record(session, "site.password", outcome="failed",
                                  detail={"site": str(address), "error": str(exc)})
            raise
        profile.credentials.set(address.credential_key, address.user, password)
        db.ensure_schema()
        db.close()
        profile.access.record(session, "site.password", detail={"site": str(address)})
        print(f"The password for {address} is kept in this computer's credential store "
              f"({profile.credentials.name}); the site database answers.")
        return 0
    if args.action == "seal-key":
        return _seal_key(args, profile, session)
    profile.access.check(session)  # anyone signed in may see who is on the site
    db = SiteDatabase.open(address, profile.credentials)
    try:
        from vms.site.workstations import Workstations

        rows = Workstations(db).all()
    finally:
        db.close()
    if args.json:
        print(json.dumps({"site": str(address), "workstations": rows}, indent=2))
        return 0
    print(f"Site {address}: connected.")
    for w in rows:
        who = w["user"] or "nobody signed in"
        state = "lost" if w["lost"] else "online"
        print(f"  {w['name']:<20} {state:<7} {who:<16} last heard {w['seen_utc']}")
    if not rows:
        print("  No workstation has joined yet.")
    return 0


def _seal_key(args: argparse.Namespace, profile: Profile, session: Session) -> int:
    from vms.audit.site_log import SiteAuditLog

    log = profile.audit
    if not isinstance(log, SiteAuditLog):
        raise ConfigError("name the site with --site postgresql://USER@HOST:PORT/DATABASE "
                          "or VMS_SITE")
    profile.access.require(session, Permission.USERS_MANAGE, action="site.seal_key")
    if args.show:
        kid, key = log.seal_key()
        profile.access.record(session, "site.seal_key", detail={"shown": kid})
        print(f"{kid} {key.hex()}")
        return 0
    text = sys.stdin.readline().strip().split()[-1:] or [""]
    try:
        key = bytes.fromhex(text[0])
    except ValueError:
        raise ConfigError("the seal key is 64 hexadecimal digits (as 'vms site seal-key --show' "
                          "prints it)") from None
    if len(key) != 32:
        raise ConfigError("the seal key is 64 hexadecimal digits (as 'vms site seal-key --show' "
                          "prints it)")
    kid = log.install_key(key)
    profile.access.record(session, "site.seal_key", detail={"kept": kid})
    print(f"The site's audit seal key {kid} is kept in this computer's credential store "
          f"({profile.credentials.name}).")
    return 0

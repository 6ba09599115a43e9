"""``vms sim``: run a simulated site on loopback, or drive the one running on the profile."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from pathlib import Path

from vms.cli.common import Subparsers, command
from vms.errors import ConfigError
from vms.sim import config as simcfg


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    sim = sub.add_parser("sim", parents=[common], help="run or drive a simulated site",
                         description="Run a simulated site of ONVIF devices on loopback "
                                     "(no action), or drive a running one.")
    sim.add_argument("--cameras", type=int, default=4, metavar="N", help="fixed cameras (default 4)")
    sim.add_argument("--help-points", type=int, default=2, metavar="N",
                     help="Help Points (default 2)")
    sim.add_argument("--pid", type=int, default=2, metavar="N",
                     help="perimeter-intrusion (PID) cameras (default 2)")
    sim.add_argument("--config", type=Path, metavar="FILE", help="TOML file sizing the site")
    sim.add_argument("--user", default=None, help=f"device user (default {simcfg.DEFAULT_USER})")
    sim.add_argument("--password", default=None,
                     help=f"device password (default {simcfg.DEFAULT_PASSWORD})")
    sim.add_argument("--host", default=None, help="address to serve on (default 127.0.0.1)")
    sim.add_argument("--base-port", type=int, default=None, metavar="PORT",
                     help=f"first ONVIF HTTP port (default {simcfg.DEFAULT_BASE_PORT}; 0 = any)")
    sim.add_argument("--rtsp-base-port", type=int, default=None, metavar="PORT",
                     help=f"first RTSP port (default {simcfg.DEFAULT_RTSP_BASE_PORT}; 0 = any)")
    sim.add_argument("--control-port", type=int, default=None, metavar="PORT",
                     help=f"control API port (default {simcfg.DEFAULT_CONTROL_PORT}; 0 = any)")
    sim.add_argument("--discovery-port", type=int, default=None, metavar="PORT",
                     help="WS-Discovery port (default 3702; 0 = any, unicast only)")
    sim.add_argument("--no-discovery", action="store_true", help="do not answer WS-Discovery")
    sim.add_argument("--rtsp-auth", action="store_true", help="require RTSP Digest auth")
    sim.add_argument("--clip-cache", type=Path, default=None, metavar="DIR",
                     help="where encoded clips are cached (default: the profile's sim/clips)")
    sim.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                     help="stop after this many seconds (default: run until interrupted)")
    acts = sim.add_subparsers(dest="action", metavar="ACTION")
    for name, text in (("press", "press a Help Point's assistance button"),
                       ("release", "release a Help Point's button"),
                       ("offline", "drop a device's HTTP and RTSP (a reboot or 4G outage)"),
                       ("online", "bring a device back")):
        a = acts.add_parser(name, parents=[common], help=text)
        a.add_argument("device")
    a = acts.add_parser("intrude", parents=[common], help="someone enters a PID camera's field")
    a.add_argument("device")
    a.add_argument("--duration", dest="intrude_duration", type=float, default=10.0,
                   help="seconds until the object leaves (default 10)")
    a.add_argument("--no-off", action="store_true",
                   help="never send the 'off' events (as faulty cameras do)")
    a = acts.add_parser("flood", parents=[common],
                        help="send motion on/off events fast (load test for the event path)")
    a.add_argument("device")
    a.add_argument("--rate", type=float, default=10.0, help="events a second (default 10)")
    a.add_argument("--duration", dest="flood_duration", type=float, default=60.0,
                   help="seconds (default 60)")
    a = acts.add_parser("skew", parents=[common], help="set a device's clock offset")
    a.add_argument("device")
    a.add_argument("seconds", type=float)
    a = acts.add_parser("relay", parents=[common], help="set a Help Point's blue light")
    a.add_argument("device")
    a.add_argument("state", choices=["on", "off"])
    a = acts.add_parser("status", parents=[common], help="show the running site")
    a.add_argument("--json", action="store_true")
    acts.add_parser("stop", parents=[common], help="stop the running site")
    command(sim, run, needs="data_dir")


def run(args: argparse.Namespace, data_dir: Path) -> int:
    if args.action is None:
        return _run_sim(args, data_dir)
    return _sim_action(args, data_dir)


def _site_config(args: argparse.Namespace) -> simcfg.SiteConfig:
    site = simcfg.SiteConfig()
    site.devices = simcfg.make_devices(args.cameras, args.help_points, args.pid)
    if args.config:
        simcfg.load_toml(args.config, site)
    for attr in ("user", "password", "host", "base_port", "rtsp_base_port", "control_port"):
        value = getattr(args, attr)
        if value is not None:
            setattr(site, attr, value)
    if args.discovery_port is not None:
        site.discovery_port = args.discovery_port
    if args.no_discovery:
        site.discovery_port = None
    if args.rtsp_auth:
        site.rtsp_auth = True
    for port in (site.base_port, site.rtsp_base_port, site.control_port):
        if not 0 <= port <= 65535:
            raise ConfigError(f"port {port} is out of range")
    if not site.user or not site.password:
        raise ConfigError("device user and password must not be empty")
    return site


def _run_sim(args: argparse.Namespace, data_dir: Path) -> int:
    from vms.sim.site import SimSite

    site_cfg = _site_config(args)
    return asyncio.run(_serve(SimSite(site_cfg, data_dir, args.clip_cache), args.duration))


async def _serve(site: object, duration: float | None) -> int:
    from vms.sim.site import SimSite

    assert isinstance(site, SimSite)
    await site.start(prepare_media=False)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl+C raises
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(site.stop()))
    try:
        await site.prepare_media()
        _print_site(site)
        if duration is not None:
            await asyncio.wait_for(site.stopped.wait(), duration)
        else:
            await site.stopped.wait()
    except TimeoutError:
        pass  # --duration ran out: the normal end of a timed run
    finally:
        if not site.stopped.is_set():
            await site.stop()
    return 0


def _print_site(site: object) -> None:
    from vms.sim.site import SimSite

    assert isinstance(site, SimSite)
    st = site.status()
    cfg = site.cfg
    print(f"Simulated site '{cfg.name}' is ready ({len(site.devices)} devices).")
    print(f"  Device credentials: user '{cfg.user}', password '{cfg.password}'")
    disc = (f"WS-Discovery on UDP {cfg.discovery_port}"
            + ("" if st["multicast"] else " (unicast only: no multicast route)")
            if cfg.discovery_port is not None else "WS-Discovery off")
    print(f"  {disc}; control API {st['control_url']}")
    print(f"  {'device':<8} {'kind':<11} {'ONVIF device service':<45} RTSP main")
    for d in site.devices:
        print(f"  {d.name:<8} {d.kind.value:<11} {d.xaddr:<45} {d.rtsp_uri(d.profiles[0])}")
    print("Drive it with: vms sim press hp1 | release hp1 | intrude pid1 | offline cam1 | "
          "online cam1 | skew cam1 SECONDS | status", flush=True)


def _sim_action(args: argparse.Namespace, data_dir: Path) -> int:
    from vms.sim import control

    if args.action == "status":
        st = control.status(data_dir)
        if args.json:
            print(json.dumps(st, indent=2))
            return 0
        print(f"{st['site']}: {'ready' if st['ready'] else 'preparing'}, control {st['control_url']}")
        for d in st["devices"]:
            extra = []
            if "button_pressed" in d:
                extra.append("BUTTON PRESSED" if d["button_pressed"] else "button idle")
                extra.append("blue light ON" if d["blue_light"] else "blue light off")
            if "objects_inside" in d:
                extra.append("INTRUSION" if d["objects_inside"] else "field clear")
            if d["clock_offset"]:
                extra.append(f"clock {d['clock_offset']:+.0f} s")
            print(f"  {d['name']:<6} {d['kind']:<11} {'online ' if d['online'] else 'OFFLINE'} "
                  f"viewers {d['viewers']}  subs {d['subscriptions']}  {', '.join(extra)}")
        return 0
    if args.action == "stop":
        control.call(data_dir, "POST", "/stop")
        print("stopping the simulated site")
        return 0
    body: dict[str, object] = {}
    name = args.action
    if name == "intrude":
        body = {"duration": args.intrude_duration, "send_off": not args.no_off}
    elif name == "flood":
        body = {"rate": args.rate, "duration": args.flood_duration}
    elif name == "skew":
        body = {"seconds": args.seconds}
    elif name == "relay":
        body = {"active": args.state == "on"}
    result = control.action(data_dir, args.device, name, **body)
    print(f"{args.device}: {name} done" + (" (online)" if result.get("online") else " (offline)"))
    return 0

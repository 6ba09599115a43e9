"""Run inside a private network namespace: a sim on a TEST-NET address of a dummy interface.

Tools that skip loopback must still find the site when it runs on another address: the sim is
started with ``--host 192.0.2.10`` (on the namespace's own ``beacon0``) and found by ``vms
discover`` with multicast only. Nothing leaves the namespace: a dummy interface sends nowhere,
and multicast loops back to members on this host. Prints one JSON object. Used by
tests/test_sim_discovery.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import ensure_admin, start_sim

ADDR = "192.0.2.10"


def main() -> None:
    data_dir, clip_cache = Path(sys.argv[1]), Path(sys.argv[2])
    sim = start_sim(data_dir, clip_cache, "--cameras", "1", "--help-points", "1", "--pid", "0",
                    "--discovery-port", "3702", "--host", ADDR)
    try:
        client_profile = data_dir.parent / "client"
        client = subprocess.run(
            [sys.executable, "-m", "vms", "--data-dir", str(client_profile), "discover", "--json",
             "--timeout", "1.5", "--interface", ADDR],
            capture_output=True, text=True, timeout=60, env=ensure_admin(client_profile))
        found = json.loads(client.stdout) if client.returncode == 0 else client.stderr
        print(json.dumps({"multicast": sim.state()["multicast"], "found": found}))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()

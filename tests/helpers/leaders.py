"""Several `kubelite server`s on one store, and which of them leads (tests and bench/ha.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.helpers.cluster import Server

LEASES = ("kube-controller-manager", "kube-scheduler")
# kill -9 of the leader to a new holder, at worst: the lease duration (15 s) counted from the
# standby's last look at the record before the leader died, which comes up to one jittered retry
# (2 s * 2.2) after the leader's last renewal, plus one more jittered retry, plus 2 s of slack
# for a busy machine: 25.8 s (bench/ha.py measures the spread: p50 about 17 s)
FAILOVER_BOUND = 15 + 2 * 2 * 2.2 + 2
IDENTITY = re.compile(r"leader election identity (\S+)")  # what the controller-manager logs


def share_pki(source: Path, target: Path) -> None:
    """What a second server of the same cluster needs from the first: CA and keys, tokens, the
    encryption key (the etcdcluster work makes this the join's job)."""
    target.mkdir(parents=True)
    for name in ("tls", "auth", "cred"):
        shutil.copytree(source / name, target / name)
    shutil.copy2(source / "token", target / "token")


def identity_of(server: Server) -> str | None:
    found = IDENTITY.findall(server.log_path.read_text(errors="replace"))
    return found[-1] if found else None


def holders(server: Server) -> dict[str, str]:
    out = server.kubectl("get", "leases", "-n", "kube-system", "-o", "json", check=False)
    if out.returncode != 0:
        return {}
    return {item["metadata"]["name"]: item["spec"].get("holderIdentity", "")
            for item in json.loads(out.stdout)["items"] if item["metadata"]["name"] in LEASES}


def both_held(server: Server) -> dict[str, str] | None:
    held = holders(server)
    return held if len(held) == 2 and all(held.values()) else None

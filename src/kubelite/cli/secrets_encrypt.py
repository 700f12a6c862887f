"""`kubelite secrets-encrypt status|prepare|rotate|reencrypt|rotate-keys`: k3s' commands for
secrets encryption at rest, asked of the running server (apiserver/encryption.py) with the
admin kubeconfig of its data dir."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kubelite.kubelet.config import DEFAULT_DATA_DIR

ACTIONS = {
    "status": "print whether encryption is on, the rotation stage and the keys",
    "prepare": "add a new key after the current one",
    "rotate": "make the new key the one that writes",
    "reencrypt": "re-write every Secret with the new key, then drop the old key",
    "rotate-keys": "prepare, rotate and reencrypt at once",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("secrets-encrypt", help="secrets encryption at rest: status and key rotation")
    actions = parser.add_subparsers(dest="encrypt_command", required=True)
    for name, text in ACTIONS.items():
        action = actions.add_parser(name, help=text)
        action.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="the server's data dir (default %(default)s)")
        action.add_argument("--kubeconfig", default=None, help="default: DATA_DIR/kubeconfig.yaml")


def render(status: dict[str, Any]) -> str:
    """The status as k3s prints it."""
    lines = [f"Encryption Status: {'Enabled' if status['enabled'] else 'Disabled'}",
             f"Current Rotation Stage: {status['stage']}",
             f"Resources: {', '.join(status['resources'])}", "",
             "Active  Key Type  Name", "------  --------  ----"]
    lines += [f" {'*' if k['active'] else ' '}      {k['type']:<8}  {k['name']}" for k in status["keys"]]
    if "reencrypted" in status and status["reencrypted"]:
        lines.append(f"\nre-encrypted {status['reencrypted']} values")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    from kubelite.apiserver.encryption import CONFIG_PATH, STATUS_PATH
    from kubelite.cli.token import server_dir
    from kubelite.client import ApiClient
    from kubelite.client.errors import ApiError

    kubeconfig = args.kubeconfig or str(server_dir(Path(args.data_dir)) / "kubeconfig.yaml")
    async with ApiClient.from_kubeconfig(kubeconfig) as client:
        try:
            if args.encrypt_command == "status":
                answer = await client.request("GET", STATUS_PATH)
            else:
                answer = await client.request("PUT", CONFIG_PATH, body={"stage": args.encrypt_command},
                                              timeout=600)
        except ApiError as e:
            print(f"kubelite secrets-encrypt: {e}", file=sys.stderr)
            return 1
    print(render(answer))
    return 0

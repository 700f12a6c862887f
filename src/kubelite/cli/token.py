"""`kubelite token rotate`: replace the join secret (k3s' `k3s token rotate`).

The server re-reads DATA_DIR/token when it changes, so the new secret applies to the next
join at once, without a restart; nodes that already joined keep their certificates (the old
secret can no longer join anyone). Works on `kubelite server`'s data dir and on `kubelite
up`'s (DIR/server/token).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kubelite.kubelet.config import DEFAULT_DATA_DIR


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    token = subparsers.add_parser("token", help="manage the join token")
    actions = token.add_subparsers(dest="token_command", required=True)
    rotate = actions.add_parser("rotate", help="replace the join secret; prints the new token")
    rotate.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="the server's data dir (default %(default)s)")
    rotate.add_argument("--new-token", default="",
                        help="the new secret (default: a random one)")


def server_dir(data_dir: Path) -> Path:
    """The server's own data dir: DATA_DIR for `kubelite server`, DATA_DIR/server under `up`."""
    return data_dir / "server" if (data_dir / "server" / "tls" / "ca.crt").exists() else data_dir


def run(args: argparse.Namespace) -> int:
    from kubelite import jointoken
    from kubelite.apiserver.join import write_token

    directory = server_dir(Path(args.data_dir))
    ca = directory / "tls" / "ca.crt"
    if not ca.exists():
        print(f"kubelite token: {ca} does not exist: start `kubelite server --data-dir {args.data_dir}` first",
              file=sys.stderr)
        return 1
    secret = args.new_token.strip() or jointoken.new_secret()
    if ":" in secret or secret.startswith(jointoken.PREFIX):
        print("kubelite token: the secret may not contain ':' nor start with K10", file=sys.stderr)
        return 2
    print(write_token(directory, ca.read_bytes(), secret))
    return 0

"""`kubelite etcd-snapshot save|ls|delete|prune` (k3s' command) for the embedded etcd of the
server whose data dir is `--data-dir` (the server must run for `save`; the rest are files).
Restoring is `kubelite server --cluster-reset --cluster-reset-restore-path=FILE`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from kubelite.etcd import etcdctl, layout, snapshots

DEFAULT_DATA_DIR = "/var/lib/kubelite"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("etcd-snapshot", help="save, list, delete and prune snapshots of the embedded etcd")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help="the server's data dir (DIR/server under `kubelite up`; default %(default)s)")
    p.add_argument("--etcd-snapshot-dir", "--dir", dest="snapshot_dir", default="",
                   help="where snapshots are (default DATA_DIR/db/snapshots)")
    sub = p.add_subparsers(dest="action", required=True)
    save = sub.add_parser("save", help="snapshot the embedded etcd now")
    listing = sub.add_parser("ls", aliases=["list"], help="list snapshots")
    save.add_argument("--name", default=snapshots.ON_DEMAND, help="the snapshot's name prefix (default %(default)s)")
    delete = sub.add_parser("delete", help="delete snapshots by name")
    delete.add_argument("names", nargs="+", metavar="NAME")
    prune = sub.add_parser("prune", help="delete the oldest snapshots beyond the retention")
    prune.add_argument("--name", default=snapshots.ON_DEMAND, help="the name prefix to prune (default %(default)s)")
    prune.add_argument("--snapshot-retention", type=int, default=snapshots.DEFAULT_RETENTION,
                       help="how many to keep (default %(default)s)")
    for action in (save, listing, delete, prune):  # also after the action, as k3s takes them
        action.add_argument("--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        action.add_argument("--etcd-snapshot-dir", "--dir", dest="snapshot_dir", default=argparse.SUPPRESS,
                            help=argparse.SUPPRESS)


def _table(found: list[snapshots.Snapshot]) -> str:
    """k3s' `etcd-snapshot ls` columns."""
    rows = [("Name", "Location", "Size", "Created")]
    for s in found:
        created = dt.datetime.fromtimestamp(s.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append((s.name, s.location, str(s.size), created))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(" ".join([*(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)), r[3]]) for r in rows)


async def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).resolve()
    directory = Path(args.snapshot_dir).resolve() if args.snapshot_dir else layout.default_snapshot_dir(data_dir)
    try:
        if args.action == "save":
            urls = layout.read_config(data_dir)
            snap = await snapshots.save(urls.client_url, directory, args.name, urls.name)
            print(f"Snapshot {snap.name} saved.")
        elif args.action in ("ls", "list"):
            print(_table(snapshots.listing(directory)))
        elif args.action == "delete":
            missing = snapshots.delete(directory, args.names)
            for name in args.names:
                if name not in missing:
                    print(f"Snapshot {name} deleted.")
            if missing:
                print(f"error: snapshot(s) not found in {directory}: {', '.join(missing)}", file=sys.stderr)
                return 1
        elif args.action == "prune":
            if args.snapshot_retention < 0:
                raise ValueError("--snapshot-retention must not be negative")
            for name in snapshots.prune(directory, snapshots.check_prefix(args.name), args.snapshot_retention):
                print(f"Snapshot {name} deleted.")
    except (ValueError, etcdctl.EtcdctlError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0

"""`kubelite images pull|import|ls|rm [--data-dir DIR]`: the node's image store by hand.

Wire-up in cli/main.py: `images.add_parser(sub)`, and for args.command == "images",
`asyncio.run(images.run(args))`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from kubelite.kubelet.config import DEFAULT_DATA_DIR


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    images = subparsers.add_parser("images", help="pull, import, list and remove node images")
    images.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="the agent's data dir (default %(default)s)")
    images.add_argument("--registries", default=None,
                        help="registries.yaml (default DATA_DIR/registries.yaml)")
    sub = images.add_subparsers(dest="images_command", required=True)
    pull = sub.add_parser("pull", help="pull an image from its registry")
    pull.add_argument("image")
    pull.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    imp = sub.add_parser("import", help="import an OCI archive, OCI layout dir or docker-archive")
    imp.add_argument("path")
    imp.add_argument("--name", default=None, help="reference for an unnamed image")
    sub.add_parser("ls", help="list images")
    rm = sub.add_parser("rm", help="remove images")
    rm.add_argument("images", nargs="+")


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.1f}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n:.1f}GB"


class ProgressBar:
    """One line, redrawn: bytes downloaded over all layers."""

    def __init__(self, image: str, out=sys.stderr, width: int = 30) -> None:  # type: ignore[no-untyped-def]
        self.image = image
        self.out = out
        self.width = width
        self.layers: dict[str, tuple[int, int]] = {}
        self._last = 0.0

    def __call__(self, done: int, total: int, digest: str) -> None:
        self.layers[digest] = (done, total)
        now = time.monotonic()
        if now - self._last < 0.1 and done < total:
            return
        self._last = now
        got = sum(d for d, _ in self.layers.values())
        want = sum(t for _, t in self.layers.values()) or 1
        filled = int(self.width * got / want)
        bar = "=" * filled + (">" if filled < self.width else "") + " " * max(0, self.width - filled - 1)
        self.out.write(f"\r{self.image}: [{bar}] {human_size(got)}/{human_size(want)}")
        self.out.flush()

    def finish(self) -> None:
        if self.layers:
            self.out.write("\n")


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from kubelite.runtime.images import ImageStore

    data_dir = os.path.abspath(args.data_dir)
    registries = args.registries or os.path.join(data_dir, "registries.yaml")
    return ImageStore(os.path.join(data_dir, "images"), registries=registries)


async def run(args: argparse.Namespace) -> int:
    from kubelite.runtime.images import ImageError

    store = _store(args)
    cmd = args.images_command
    try:
        if cmd == "pull":
            bar = None if args.quiet or not sys.stderr.isatty() else ProgressBar(args.image)
            start = time.monotonic()
            record = await store.pull(args.image, policy="Always", progress=bar)
            if bar:
                bar.finish()
            print(f"{record.reference} {record.config_digest[:19]} "
                  f"{human_size(record.size)} pulled in {time.monotonic() - start:.2f}s")
        elif cmd == "import":
            for record in await store.import_archive(args.path, reference=args.name):
                print(f"imported {record.reference} {record.config_digest[:19]}")
        elif cmd == "ls":
            rows = [("IMAGE", "TAG", "IMAGE ID", "SIZE")]
            for r in store.list():
                name, _, tag = r.reference.rpartition(":")
                if "/" in tag or not name:
                    name, tag = r.reference, "<none>"
                rows.append((name, tag, r.config_digest.split(":", 1)[-1][:13], human_size(r.size)))
            widths = [max(len(row[i]) for row in rows) for i in range(4)]
            for row in rows:
                print("   ".join(col.ljust(widths[i]) for i, col in enumerate(row)).rstrip())
        elif cmd == "rm":
            code = 0
            for image in args.images:
                if await store.remove(image):
                    print(f"Deleted: {image}")
                else:
                    print(f'kubelite images: no such image: "{image}"', file=sys.stderr)
                    code = 1
            return code
    except (ImageError, OSError, ValueError) as e:
        print(f"kubelite images: {e}", file=sys.stderr)
        return 1
    return 0

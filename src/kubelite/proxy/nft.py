"""Running Debian's `nft` (the Python bindings are not importable from our interpreter)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class NftError(Exception):
    """nft refused a script; the message is its stderr."""


async def run_nft(script: str, *args: str) -> str:
    """Feed `script` to `nft [args] -f -`; returns stdout, raises NftError on failure."""
    proc = await asyncio.create_subprocess_exec(
        "nft", *args, "-f", "-", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(script.encode())
    if proc.returncode != 0:
        raise NftError(err.decode(errors="replace").strip() or f"nft exited with {proc.returncode}")
    return out.decode(errors="replace")


async def check(script: str) -> None:
    """Parse and validate without applying (`nft -c`)."""
    await run_nft(script, "-c")


async def delete_table(table: str) -> None:
    """Remove the table if it exists (idempotent)."""
    await run_nft(f"add table ip {table}\ndelete table ip {table}\n")


async def sync_loop(changed: asyncio.Event, batch_delay: float, sync: Callable[[], Awaitable[object]],
                    on_error: Callable[[Exception], None], retry_delay: float = 1.0) -> None:
    """Run `sync` after every change, changes gathered for `batch_delay` seconds; a failure is
    reported to `on_error` and retried after `retry_delay` (the tables' owners keep working)."""
    while True:
        await changed.wait()
        await asyncio.sleep(batch_delay)
        try:
            await sync()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - keep the rules in step; try again shortly
            on_error(e)
            await asyncio.sleep(retry_delay)
            changed.set()

"""The supervisor of the server's children: a crashed child is started again, one whose exit
its `exited` calls final (etcd removed from its cluster) is left stopped."""

from __future__ import annotations

import asyncio
import sys

from kubelite.supervisor import SupervisedProcess


class Child(SupervisedProcess):
    """A child exiting with `code` at once; exit 0 is final."""

    def __init__(self, code: int) -> None:
        super().__init__("child", [sys.executable, "-c", f"raise SystemExit({code})"])
        self.codes: list[int] = []

    def exited(self, code: int) -> bool:
        self.codes.append(code)
        return code != 0


async def test_a_final_exit_is_not_restarted() -> None:
    child = Child(0)
    child.start()
    assert child._supervisor is not None
    await asyncio.wait_for(child._supervisor, 30)  # the supervision ended by itself
    assert child.starts == 1 and child.codes == [0]
    assert not child.running
    await child.stop()


async def test_a_crash_is_restarted() -> None:
    child = Child(3)
    child.start()
    try:
        while child.starts < 2:  # after the first restart delay (1 s)
            await asyncio.sleep(0.05)
        assert child.codes[0] == 3
    finally:
        await child.stop()

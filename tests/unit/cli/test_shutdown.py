"""The stop request of kubelite's commands: start, wait, stop; a stop during start cancels it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from kubelite.cli.shutdown import Shutdown


async def test_serve_runs_stop_after_the_request() -> None:
    steps: list[str] = []
    shutdown = Shutdown("test", grace=60)

    async def start() -> None:
        steps.append("start")

    async def stop() -> None:
        steps.append("stop")

    serving = asyncio.create_task(shutdown.serve(start, stop))
    await asyncio.sleep(0.05)
    assert steps == ["start"] and not serving.done()
    shutdown.request()
    assert await serving is True
    assert steps == ["start", "stop"]


async def test_a_request_during_start_cancels_it_and_still_stops() -> None:
    steps: list[str] = []
    shutdown = Shutdown("test", grace=60)

    async def start() -> None:
        try:
            await asyncio.sleep(3600)  # waiting for a pod CIDR that never comes
        except asyncio.CancelledError:
            steps.append("start cancelled")
            raise

    async def stop() -> None:
        steps.append("stop")

    serving = asyncio.create_task(shutdown.serve(start, stop))
    await asyncio.sleep(0.05)
    shutdown.request()
    assert await asyncio.wait_for(serving, 5) is False
    assert steps == ["start cancelled", "stop"]


async def test_a_failed_start_is_stopped_and_raised() -> None:
    stopped: list[bool] = []

    async def start() -> None:
        raise OSError("address in use")

    async def stop() -> None:
        stopped.append(True)

    with pytest.raises(OSError, match="address in use"):
        await Shutdown("test", grace=60).serve(start, stop)
    assert stopped == [True]


SCRIPT = textwrap.dedent("""
    import asyncio, logging, sys
    from kubelite.cli.shutdown import Shutdown

    logging.basicConfig(level=logging.INFO, stream=sys.stdout)

    async def main() -> None:
        shutdown = Shutdown("test", grace=float(sys.argv[1])).install()
        shutdown.on_force(lambda: print("killed children", flush=True))

        async def start() -> None:
            print("ready", flush=True)

        async def stop() -> None:
            await asyncio.sleep(3600)  # a stop that never ends

        await shutdown.serve(start, stop)

    asyncio.run(main())
""")


def run_script(grace: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(grace)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def test_a_second_signal_forces_the_exit_with_128_plus_the_signal() -> None:
    proc = run_script(grace=60)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.stdout is not None and "shutting down test" in proc.stdout.readline()
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(30) == 128 + signal.SIGINT
    rest = proc.stdout.read()
    assert "forcing exit" in rest and "killed children" in rest


def test_a_stop_that_overruns_its_grace_is_forced() -> None:
    proc = run_script(grace=0.5)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(30) == 1
    assert proc.stdout is not None and "did not stop within" in proc.stdout.read()

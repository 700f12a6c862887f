"""`runc exec`: stdin and pipes, a terminal with resize, and killing on timeout."""

from __future__ import annotations

import asyncio
import os

import pytest

from kubelite.runtime.exec import ExecTimeoutError, exec_process

from .conftest import Node


async def started(node: Node, cid: str = "target") -> str:
    await node.run(cid, node.config(["sleep", "1000"], cid=cid))
    return cid


async def test_exec_with_stdin_env_and_exit_code(node: Node) -> None:
    cid = await started(node)
    session = await exec_process(
        node.runtime, cid, ["sh", "-c", "cat; echo \"$GREETING\" >&2; pwd; exit 3"],
        stdin=True, env=["GREETING=hi"], cwd="/tmp",
    )  # fmt: skip
    code, out, err = await session.communicate(b"line one\nline two\n", timeout=10)
    assert code == 3
    assert out == b"line one\nline two\n/tmp\n"
    assert err == b"hi\n"


async def test_exec_with_tty_and_resize(node: Node) -> None:
    cid = await started(node)
    session = await exec_process(node.runtime, cid, ["sh"], tty=True, stdin=True)
    session.resize(120, 40)
    # the resize reaches the terminal asynchronously: wait for it inside the container (a
    # resize that never arrives times the read below out)
    await session.write_stdin(
        b"tty; until stty size 2>/dev/null | grep -q '^40 120$'; do sleep 0.05; done; stty size; exit 5\n")
    output = b""
    while chunk := await asyncio.wait_for(session.read_stdout(), 10):
        output += chunk
    assert await session.wait(10) == 5
    assert b"/dev/pts/" in output
    assert b"\n40 120\r" in output  # stty's own line, not the echoed command


async def test_exec_with_tty_sets_term_xterm_as_containerd(node: Node) -> None:
    cid = await started(node)
    session = await exec_process(node.runtime, cid, ["sh", "-c", "echo TERM=[$TERM]"], tty=True)
    output = b""
    while chunk := await asyncio.wait_for(session.read_stdout(), 10):
        output += chunk
    assert await session.wait(10) == 0
    assert b"TERM=[xterm]" in output
    plain = await exec_process(node.runtime, cid, ["sh", "-c", "echo TERM=[$TERM]"])
    assert (await plain.communicate(timeout=10))[1] == b"TERM=[]\n"
    chosen = await exec_process(node.runtime, cid, ["sh", "-c", "echo TERM=[$TERM]"], tty=True,
                                env=["TERM=vt100"])
    output = b""
    while chunk := await asyncio.wait_for(chosen.read_stdout(), 10):
        output += chunk
    assert b"TERM=[vt100]" in output


async def test_exec_timeout_kills_the_process_in_the_container(node: Node) -> None:
    cid = await started(node)
    session = await exec_process(node.runtime, cid, ["sleep", "77"])
    for _ in range(200):
        pid = session.container_pid()
        if pid:
            break
        await asyncio.sleep(0.01)
    assert pid
    with pytest.raises(ExecTimeoutError):
        await session.wait(timeout=0.3)
    await asyncio.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]

"""Pod sandboxes: shared network/IPC/UTS and /dev/shm, private PIDs, the pod's files."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from kubelite.runtime.sandbox import DnsConfig, SandboxManager

from .conftest import Node

WEB = ["sh", "-c", "echo shared > /dev/shm/from-a; exec httpd -f -p 8080 -h /www"]


def http_get(ip: str, port: int = 8080) -> str:
    with socket.create_connection((ip, port), timeout=5) as s:
        s.sendall(f"GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


async def wait_http(ip: str) -> str:
    for _ in range(200):
        try:
            return await asyncio.to_thread(http_get, ip)
        except OSError:
            await asyncio.sleep(0.02)
    raise AssertionError(f"no HTTP answer from {ip}")


async def test_two_container_pod_shares_net_ipc_uts_shm_but_not_pids(node: Node) -> None:
    pod = await node.sandbox("pod1", hostname="web-0")
    await node.run("a", node.in_sandbox(pod, WEB, "a"))
    await wait_http(pod.pod_ip)  # the host reaches the pod IP over the bridge
    b_script = (
        "hostname; timeout 5 wget -q -O - http://127.0.0.1:8080/; cat /dev/shm/from-a; "
        "ps -o comm | grep -c httpd; cat /etc/hostname; grep web-0 /etc/hosts"
    )
    state, log = await node.run_to_end("b", node.in_sandbox(pod, ["sh", "-c", b_script], "b"))
    out = [line.split(" ", 3)[3] for line in log.splitlines()]
    assert state.exit_code == 0, out
    assert out[0] == "web-0"  # same UTS namespace as the sandbox
    assert out[1] == "hello from A"  # A's httpd on the shared loopback
    assert out[2] == "shared"  # A's file in the pod's /dev/shm
    assert out[3] == "0"  # no httpd in B's process list: PIDs are not shared
    assert out[4] == "web-0"
    assert out[5] == f"{pod.pod_ip}\tweb-0"


async def test_second_sandbox_reaches_the_first_by_ip(node: Node) -> None:
    one = await node.sandbox("one")
    two = await node.sandbox("two")
    assert one.pod_ip != two.pod_ip
    await node.run("web", node.in_sandbox(one, WEB, "web"))
    await wait_http(one.pod_ip)
    cmd = ["sh", "-c", f"timeout 5 wget -q -O - http://{one.pod_ip}:8080/"]
    state, log = await node.run_to_end("client", node.in_sandbox(two, cmd, "client"))
    assert state.exit_code == 0
    assert log.endswith("stdout F hello from A\n")


async def test_share_process_namespace(node: Node) -> None:
    pod = await node.sandbox("shared", share_pid=True)
    await node.run("sleeper", node.in_sandbox(pod, ["sleep", "1000"], "sleeper"))
    state, log = await node.run_to_end(
        "looker", node.in_sandbox(pod, ["sh", "-c", "ps -o args | grep -c '^sleep 1000'"], "looker")
    )
    assert state.exit_code == 0
    assert log.rstrip().endswith(" 1")


async def test_destroy_removes_everything_and_is_idempotent(node: Node) -> None:
    dns = DnsConfig(nameservers=["10.96.0.10"], searches=["default.svc.cluster.local"],
                    options=["ndots:5"])  # fmt: skip
    info = await node.sandbox("gone", dns=dns, share_pid=True)
    assert Path(info.resolv_path).read_text() == (
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local\noptions ndots:5\n"
    )
    found = SandboxManager(node.sandboxes.prefix, node.sandboxes.state_dir).find_sandboxes()
    assert [s.name for s in found] == ["gone"]  # found again by a new manager (agent restart)
    assert found[0].pod_ip == info.pod_ip
    mounts_before = Path("/proc/self/mountinfo").read_text()
    assert info.dir in mounts_before

    await node.network.delete("gone", info.netns_path)
    await node.sandboxes.destroy_sandbox("gone")
    await node.sandboxes.destroy_sandbox("gone")
    assert not os.path.exists(info.netns_path)
    assert not os.path.exists(info.dir)
    assert info.dir not in Path("/proc/self/mountinfo").read_text()
    assert node.sandboxes.find_sandboxes() == []


async def test_host_network_sandbox_uses_host_namespaces(node: Node) -> None:
    info = await node.sandbox("hostnet", host_network=True)
    assert info.netns_path == "" and info.uts_path == ""
    assert info.ipc_path  # hostIPC is separate from hostNetwork
    assert (
        Path(info.hosts_path)
        .read_text()
        .startswith("# Kubernetes-managed hosts file (host network).")
    )
    state, log = await node.run_to_end(
        "h", node.in_sandbox(info, ["sh", "-c", "hostname; cat /proc/net/dev | grep -c lo:"], "h")
    )
    assert state.exit_code == 0, log
    assert f"stdout F {socket.gethostname()}" in log

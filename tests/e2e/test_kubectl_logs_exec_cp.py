"""kubectl logs, exec, exec -it, cp and attach against real containers on a real agent, with
kubectl 1.27 (SPDY/3.1) and 1.33 (WebSocket v5): the API server proxies to the kubelet, which
reads CRI logs and runs `runc exec`. An image without `tar` still takes `kubectl cp`, done by
the kubelet itself inside the container's root: a planted symlink or a crafted archive never
reaches the host, with or without tar in the image."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
import subprocess
import tarfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cluster import kubectl_binary
from tests.helpers.node import NodeCluster, running_node
from tests.helpers.registry import (
    BUSYBOX_BINARY,
    dir_entry,
    file_entry,
    make_layer,
    push_image,
    symlink_entry,
    write_oci_layout,
)
from tests.helpers.tty import read_until, set_size

VERSIONS = pytest.mark.parametrize("version", ["1.27", "1.33"])
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z ")


def notar_layer() -> bytes:
    """busybox with every applet but `tar`: `kubectl cp` then relies on the kubelet."""
    applets = subprocess.run([BUSYBOX_BINARY, "--list"], check=True, capture_output=True,
                             text=True).stdout.split()
    entries = [dir_entry(d) for d in ("bin", "dev", "etc", "proc", "sys", "tmp", "data")]
    entries.append(file_entry("bin/busybox", Path(BUSYBOX_BINARY).read_bytes(), 0o755))
    entries += [symlink_entry(f"bin/{a}", "busybox") for a in sorted(set(applets) - {"busybox", "tar"})]
    entries.append(file_entry("data/inside.txt", b"shipped in the image\n"))
    entries.append(symlink_entry("data/escape", "/../../../etc"))
    return make_layer(entries)


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 1, **spec}}


def sh(name: str, script: str, image: str = "busybox:latest") -> dict[str, Any]:
    return {"name": name, "image": image, "command": ["sh", "-c", script]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        layout = write_oci_layout(tmp_path_factory.mktemp("notar"), [notar_layer()], cmd=["sh"])
        push_image(layout, c.registry.url, "library/notar", "1.0")
        c.apply(pod("web", [
            sh("main", "echo early; sleep 3; echo late; echo oops >&2; exec sleep 3600"),
            sh("side", "echo side says hi; exec sleep 3600")]))
        c.apply(pod("notar", [sh("main", "exec sleep 3600", image="notar:1.0")]))
        c.apply(pod("crash", [sh("main", "echo run-$(cat /proc/uptime); sleep 0.3; exit 1")]))
        for name in ("web", "notar"):
            c.wait_running(name)
        yield c


def kubectl(c: NodeCluster, version: str, *args: str, check: bool = True,
            **kw: Any) -> subprocess.CompletedProcess[str]:
    result = c.server.kubectl(*args, version=version, check=False, **kw)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}\nagent log:\n{c.agent.log_tail()}")
    return result


def wait_logs(c: NodeCluster, text: str, *args: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = kubectl(c, "1.33", "logs", *args, check=False).stdout
        if text in out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in logs {args}: {out!r}")


# -- logs -----------------------------------------------------------------------------------


@VERSIONS
def test_logs_flags(cluster: NodeCluster, version: str) -> None:
    wait_logs(cluster, "late", "web", "-c", "main")
    time.sleep(0.5)
    assert kubectl(cluster, version, "logs", "web", "-c", "main").stdout == "early\nlate\noops\n"
    assert kubectl(cluster, version, "logs", "web", "-c", "side").stdout == "side says hi\n"
    assert kubectl(cluster, version, "logs", "web", "-c", "main", "--tail=1").stdout == "oops\n"
    assert kubectl(cluster, version, "logs", "web", "-c", "main", "--limit-bytes=3").stdout == "ear"
    stamped = kubectl(cluster, version, "logs", "web", "-c", "main", "--timestamps").stdout
    lines = stamped.splitlines()
    assert len(lines) == 3 and all(STAMP.match(line) for line in lines)
    assert [STAMP.sub("", line) for line in lines] == ["early", "late", "oops"]
    # "late" came 3 s after "early": --since=2s keeps it (as long as it is recent enough)
    since = kubectl(cluster, version, "logs", "web", "-c", "main", "--since=1h").stdout
    assert since == "early\nlate\noops\n"
    assert kubectl(cluster, version, "logs", "web", "-c", "main", "--since-time",
                   "2099-01-01T00:00:00Z").stdout == ""
    both = kubectl(cluster, version, "logs", "web", "--all-containers").stdout
    # newer kubectl fetches the containers' logs concurrently: each in order, interleaved any way
    lines = both.splitlines()
    assert sorted(lines) == sorted(["early", "late", "oops", "side says hi"])
    assert [line for line in lines if line != "side says hi"] == ["early", "late", "oops"]
    # a pod with two containers needs -c (kubectl picks the default container and says so)
    result = kubectl(cluster, version, "logs", "web", check=False)
    assert result.returncode == 0 and result.stdout == "early\nlate\noops\n"
    missing = kubectl(cluster, version, "logs", "web", "-c", "nope", check=False)
    assert missing.returncode != 0
    assert "container nope is not valid for pod web" in missing.stderr


def test_logs_since_drops_older_lines(cluster: NodeCluster) -> None:
    cluster.apply(pod("since", [sh("main", "echo first; sleep 2.5; echo second; exec sleep 3600")]))
    cluster.wait_running("since")
    wait_logs(cluster, "second", "since")
    assert cluster.kubectl("logs", "since", "--since=2s").stdout == "second\n"
    cluster.kubectl("delete", "pod", "since", "--wait=false")


@VERSIONS
def test_logs_previous_after_a_restart(cluster: NodeCluster, version: str) -> None:
    p = cluster.wait_for("crash", lambda p: p["status"]["containerStatuses"][0]["restartCount"] >= 1,
                         timeout=20, what="a restart")
    assert p["status"]["containerStatuses"][0]["restartCount"] >= 1
    prev = kubectl(cluster, version, "logs", "crash", "--previous").stdout
    assert re.fullmatch(r"run-[\d.]+ [\d.]+\n", prev), prev
    other = kubectl(cluster, "1.33", "logs", "web", "-c", "main", "--previous", check=False)
    assert other.returncode != 0
    assert 'previous terminated container "main" in pod "web" not found' in other.stderr


@VERSIONS
def test_logs_follow_ends_when_the_container_ends(cluster: NodeCluster, version: str) -> None:
    name = f"follow-{version.replace('.', '')}"
    cluster.apply(pod(name, [sh("main", "sleep 1; for i in 1 2 3; do echo tick $i; sleep 0.4; "
                                        "done")], restartPolicy="Never"))
    cluster.wait_for(name, lambda p: p["status"].get("phase") in ("Running", "Succeeded"),
                     what="Running")
    start = time.monotonic()
    out = kubectl(cluster, version, "logs", "-f", name, timeout=30).stdout
    assert out == "tick 1\ntick 2\ntick 3\n"
    assert time.monotonic() - start < 15
    cluster.kubectl("delete", "pod", name, "--wait=false")


# -- exec -----------------------------------------------------------------------------------


@VERSIONS
def test_exec_date_and_exit_codes(cluster: NodeCluster, version: str) -> None:
    out = kubectl(cluster, version, "exec", "web", "-c", "main", "--", "date", "-u").stdout
    assert re.fullmatch(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n", out), out
    failed = kubectl(cluster, version, "exec", "web", "-c", "side", "--", "sh", "-c",
                     "echo to-err >&2; exit 7", check=False)
    assert failed.returncode == 7
    assert "to-err" in failed.stderr and "command terminated with exit code 7" in failed.stderr
    host = kubectl(cluster, version, "exec", "web", "-c", "side", "--", "hostname").stdout
    assert host == "web\n"
    missing = kubectl(cluster, version, "exec", "web", "-c", "main", "--", "/no/such", check=False)
    assert missing.returncode != 0


@VERSIONS
def test_exec_with_stdin(cluster: NodeCluster, version: str) -> None:
    data = "".join(f"line {i}\n" for i in range(2000))
    out = kubectl(cluster, version, "exec", "-i", "web", "-c", "main", "--", "sh", "-c",
                  "wc -l; echo done", input=data).stdout
    assert out.split() == ["2000", "done"]


@VERSIONS
def test_exec_it_with_a_terminal_resize_and_term(cluster: NodeCluster, version: str) -> None:
    master, slave = os.openpty()
    set_size(slave, 30, 100)
    s = cluster.server
    proc = subprocess.Popen(
        [kubectl_binary(version), f"--kubeconfig={s.kubeconfig}",
         f"--cache-dir={s.cache_root / version}", "exec", "-it", "web", "-c", "main", "--", "sh"],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    try:
        # type after the prompt, as a person does: the first resize is on its way meanwhile
        read_until(master, r"[#$] ")
        time.sleep(0.3)
        os.write(master, b"stty size; tty\r")
        read_until(master, r"30 100\s+/dev/pts/\d+")
        set_size(master, 40, 120)  # kubectl gets SIGWINCH and sends a resize
        time.sleep(0.5)
        os.write(master, b"stty size\r")
        read_until(master, r"40 120")
        os.write(master, b"echo term=$TERM\r")  # containerd's TERM for a terminal
        read_until(master, r"term=xterm")
        os.write(master, b"exit 3\r")
        assert proc.wait(15) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


# -- cp -------------------------------------------------------------------------------------


@VERSIONS
@pytest.mark.parametrize("target", ["web", "notar"])
def test_cp_both_ways(cluster: NodeCluster, version: str, target: str, tmp_path: Path) -> None:
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_text(f"uploaded by {version}\n")
    (up / "sub" / "b.bin").write_bytes(bytes(range(256)) * 300)
    dest = f"/tmp/up-{version}"
    kubectl(cluster, version, "cp", str(up), f"{target}:{dest}", "-c", "main")
    check = kubectl(cluster, version, "exec", target, "-c", "main", "--", "sh", "-c",
                    f"cat {dest}/a.txt; md5sum {dest}/sub/b.bin").stdout
    want_md5 = hashlib.md5((up / "sub" / "b.bin").read_bytes()).hexdigest()
    assert check.splitlines() == [f"uploaded by {version}", f"{want_md5}  {dest}/sub/b.bin"]
    kubectl(cluster, version, "exec", target, "-c", "main", "--", "sh", "-c",
            "mkdir -p /tmp/down/deep && echo from the container > /tmp/down/deep/c.txt")
    kubectl(cluster, version, "cp", f"{target}:/tmp/down", str(tmp_path / "down"), "-c", "main")
    assert (tmp_path / "down" / "deep" / "c.txt").read_text() == "from the container\n"
    one = tmp_path / "one.txt"
    kubectl(cluster, version, "cp", f"{target}:/tmp/down/deep/c.txt", str(one), "-c", "main")
    assert one.read_text() == "from the container\n"


def _evil_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in ("ok.txt", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"bad"))
    return buf.getvalue()


def test_cp_without_tar_stays_inside_the_target(cluster: NodeCluster, tmp_path: Path) -> None:
    # the image has no tar: the kubelet answers kubectl's tar commands itself
    probe = kubectl(cluster, "1.33", "exec", "notar", "--", "sh", "-c", "test -e /bin/tar || echo none")
    assert probe.stdout.strip() == "none"
    # an archive entry climbing out of the target is refused, and nothing lands outside
    s = cluster.server
    result = subprocess.run(
        [kubectl_binary("1.33"), f"--kubeconfig={s.kubeconfig}", f"--cache-dir={s.cache_root}/1.33",
         "exec", "-i", "notar", "--", "tar", "-xmf", "-", "-C", "/tmp/target"],
        input=_evil_tar(), capture_output=True, timeout=30)
    assert result.returncode != 0
    assert b"refusing to write outside /tmp/target" in result.stderr
    listing = cluster.kubectl("exec", "notar", "--", "ls", "/tmp").stdout.split()
    assert "escaped.txt" not in listing
    # reading through a symlink that points out of the root stays inside the container's root
    kubectl(cluster, "1.33", "cp", "notar:/data/escape/", str(tmp_path / "etc"), check=False)
    assert not (tmp_path / "etc" / "passwd").exists() or \
        (tmp_path / "etc" / "passwd").read_bytes() != Path("/etc/passwd").read_bytes()
    kubectl(cluster, "1.33", "cp", "notar:/data/inside.txt", str(tmp_path / "inside.txt"))
    assert (tmp_path / "inside.txt").read_text() == "shipped in the image\n"


def _kubectl_exec_stdin(c: NodeCluster, target: str, data: bytes,
                        *command: str) -> subprocess.CompletedProcess[bytes]:
    s = c.server
    return subprocess.run(
        [kubectl_binary("1.33"), f"--kubeconfig={s.kubeconfig}", f"--cache-dir={s.cache_root}/1.33",
         "exec", "-i", target, "--", *command], input=data, capture_output=True, timeout=30)


def _symlink_then_file_tar(link_target: str) -> bytes:
    """The crafted archive: `evil -> TARGET`, then `evil/pwned` written through it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        link = tarfile.TarInfo("evil")
        link.type, link.linkname = tarfile.SYMTYPE, link_target
        tar.addfile(link)
        info = tarfile.TarInfo("evil/pwned")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"bad\n"))
    return buf.getvalue()


@pytest.mark.parametrize("target", ["web", "notar"])
def test_cp_through_a_planted_symlink_stays_in_the_container(
        cluster: NodeCluster, target: str, tmp_path: Path) -> None:
    # the container plants links to a host directory it has a copy of (and to a host file)
    sentinel = tmp_path / "host-sentinel"
    sentinel.mkdir()
    cluster.kubectl("exec", target, "--", "sh", "-c",
                    f"mkdir -p {sentinel} && ln -s {sentinel} /tmp/planted-dir && "
                    f"ln -s {sentinel}/file /tmp/planted-file")
    up = tmp_path / "up"
    up.mkdir()
    (up / "a.txt").write_text("copied in\n")
    kubectl(cluster, "1.33", "cp", str(up), f"{target}:/tmp/planted-dir")
    one = tmp_path / "one.txt"
    one.write_text("one file\n")
    kubectl(cluster, "1.33", "cp", str(one), f"{target}:/tmp/planted-file")
    assert list(sentinel.iterdir()) == []  # the host never saw a write
    # the directory link is followed inside the container (an existing directory: kubectl
    # copies into it as `up/`), the file link is replaced by the file
    inside = cluster.kubectl("exec", target, "--", "sh", "-c",
                             f"cat {sentinel}/up/a.txt; test -L /tmp/planted-file || "
                             "cat /tmp/planted-file; ls -A " + str(sentinel)).stdout
    assert inside.splitlines() == ["copied in", "one file", "up"]


@pytest.mark.parametrize("target", ["web", "notar"])
def test_a_crafted_tar_stays_in_the_container(cluster: NodeCluster, target: str,
                                              tmp_path: Path) -> None:
    sentinel = tmp_path / "host-sentinel"
    sentinel.mkdir()
    dest = f"/tmp/crafted-{target}"
    cluster.kubectl("exec", target, "--", "mkdir", "-p", dest, str(sentinel))
    result = _kubectl_exec_stdin(cluster, target, _symlink_then_file_tar(str(sentinel)),
                                 "tar", "-xf", "-", "-C", dest)
    assert list(sentinel.iterdir()) == []
    # busybox's tar (and the kubelet's, for the image without one) makes the unsafe link last:
    # the file lands in a real directory under the destination, and the link is refused
    assert result.returncode != 0 and b"can't create symlink" in result.stderr, result.stderr
    inside = cluster.kubectl("exec", target, "--", "sh", "-c",
                             f"cat {dest}/evil/pwned; ls -A {sentinel}").stdout
    assert inside == "bad\n"


# -- attach ---------------------------------------------------------------------------------


def test_attach_streams_the_running_output(cluster: NodeCluster) -> None:
    cluster.apply(pod("ticker", [sh("main", "i=0; while :; do i=$((i+1)); echo tick $i; "
                                            "sleep 0.2; done")]))
    cluster.wait_running("ticker")
    s = cluster.server
    proc = subprocess.Popen(
        [kubectl_binary("1.33"), f"--kubeconfig={s.kubeconfig}", f"--cache-dir={s.cache_root}/1.33",
         "attach", "ticker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        out = read_until(fd, r"tick \d+\n.*tick \d+\n", timeout=15)
        assert re.search(r"tick \d+", out)
    finally:
        proc.kill()
        proc.wait()
    cluster.kubectl("delete", "pod", "ticker", "--wait=false")

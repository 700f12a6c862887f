"""`kubectl cp` without tar in the image: the kubelet's tar reads and writes only inside the
container's root, whatever the container planted there and whatever the archive says."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubelite.kubelet.safepath import open_dir
from kubelite.kubelet.tar_in_root import create_archive, extract_archive, has_tar


@dataclass
class Box:
    rootfs: Path  # the container's `/` on the host
    fd: int  # its descriptor, as HostRuntime.open_root gives
    host: Path  # a host directory the container must never reach, with one file

    def inside(self, host_path: Path) -> Path:
        """Where the container's own `host_path` lives on the host."""
        return self.rootfs / str(host_path).lstrip("/")

    def host_untouched(self) -> bool:
        return sorted(p.name for p in self.host.iterdir()) == ["secret"] and \
            (self.host / "secret").read_text() == "host\n" and \
            (self.host / "secret").stat().st_nlink == 1


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "secret").write_text("host\n")
    (tmp_path / "root" / "tmp").mkdir(parents=True)
    fd = open_dir(str(tmp_path / "root"))
    yield Box(tmp_path / "root", fd, tmp_path / "host")
    os.close(fd)


def archive(*entries: tuple[str, str, bytes | str]) -> bytes:
    """(kind, name, content or link target) -> a tar, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for kind, name, value in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(value, bytes)
                info.size, info.mode = len(value), 0o644
                tar.addfile(info, io.BytesIO(value))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
                         "hard": tarfile.LNKTYPE}[kind]
            info.mode = 0o755
            if kind in ("sym", "hard"):
                assert isinstance(value, str)
                info.linkname = value
            tar.addfile(info)
    return buf.getvalue()


def test_copy_out_and_back_in(box: Box) -> None:
    (box.rootfs / "data" / "sub").mkdir(parents=True)
    (box.rootfs / "data" / "f.txt").write_text("hi")
    (box.rootfs / "data" / "run.sh").write_text("#!/bin/sh\n")
    (box.rootfs / "data" / "run.sh").chmod(0o755)
    os.link(box.rootfs / "data" / "f.txt", box.rootfs / "data" / "sub" / "again")
    os.symlink("f.txt", box.rootfs / "data" / "link")
    data = create_archive(box.fd, ["/data"])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["data/sub/again"].islnk() and members["data/sub/again"].linkname == "data/f.txt"
    assert members["data/link"].issym()
    assert extract_archive(box.fd, "/in", data) == []
    assert (box.rootfs / "in" / "data" / "f.txt").read_text() == "hi"
    assert (box.rootfs / "in" / "data" / "sub" / "again").samefile(
        box.rootfs / "in" / "data" / "f.txt")
    assert os.access(box.rootfs / "in" / "data" / "run.sh", os.X_OK)
    assert os.readlink(box.rootfs / "in" / "data" / "link") == "f.txt"


def test_a_planted_symlink_directory_resolves_inside_the_container(box: Box) -> None:
    # the container: ln -s /HOST /tmp/x, with its own /HOST; then kubectl cp ./dir pod:/tmp/x
    os.symlink(str(box.host), box.rootfs / "tmp" / "x")
    box.inside(box.host).mkdir(parents=True)
    assert extract_archive(box.fd, "/tmp", archive(("dir", "x", ""),
                                                   ("file", "x/f", b"copied\n"))) == []
    assert (box.inside(box.host) / "f").read_text() == "copied\n"
    assert box.host_untouched()
    # the destination directory itself through the planted link: the same
    assert extract_archive(box.fd, "/tmp/x", archive(("file", "g", b"g\n"))) == []
    assert (box.inside(box.host) / "g").read_text() == "g\n"
    assert box.host_untouched()


def test_a_planted_dangling_symlink_is_never_followed_to_the_host(box: Box) -> None:
    os.symlink(str(box.host), box.rootfs / "tmp" / "x")  # nothing at HOST in the container
    errors = extract_archive(box.fd, "/tmp", archive(("file", "x/f", b"copied\n")))
    assert len(errors) == 1 and "x/f" in errors[0]
    assert not box.inside(box.host).exists()
    assert box.host_untouched()


def test_a_planted_symlink_file_is_replaced_not_written_through(box: Box) -> None:
    os.symlink(str(box.host / "secret"), box.rootfs / "tmp" / "x")
    assert extract_archive(box.fd, "/tmp", archive(("file", "x", b"mine\n"))) == []
    assert not (box.rootfs / "tmp" / "x").is_symlink()
    assert (box.rootfs / "tmp" / "x").read_text() == "mine\n"
    assert box.host_untouched()


def test_a_symlink_member_then_a_file_beneath_it(box: Box) -> None:
    # the crafted archive: evil -> HOST, then evil/pwned (and the same with a relative climb)
    evil = archive(("sym", "evil", str(box.host)), ("file", "evil/pwned", b"bad\n"),
                   ("sym", "up", "../../../../../../.."), ("file", "up/etc/pwned", b"bad\n"))
    errors = extract_archive(box.fd, "/tmp", evil)
    assert box.host_untouched()
    # as busybox and GNU tar do: the unsafe links come last, so the files stay under /tmp
    assert (box.rootfs / "tmp" / "evil" / "pwned").read_text() == "bad\n"
    assert (box.rootfs / "tmp" / "up" / "etc" / "pwned").read_text() == "bad\n"
    assert [e.split(":")[0] for e in errors] == ["tar", "tar"]
    assert "can't create symlink '/tmp/evil'" in errors[0]


def test_safe_symlink_members_are_made_in_place(box: Box) -> None:
    assert extract_archive(box.fd, "/tmp", archive(("dir", "real", ""), ("sym", "alias", "real"),
                                                   ("file", "alias/f", b"x"))) == []
    assert (box.rootfs / "tmp" / "real" / "f").read_bytes() == b"x"


def test_hard_link_members_stay_inside(box: Box) -> None:
    os.symlink(str(box.host / "secret"), box.rootfs / "tmp" / "planted")
    errors = extract_archive(box.fd, "/tmp", archive(
        ("hard", "h1", "planted"),  # links the symlink itself, never the host file
        ("hard", "h2", "../../../etc/passwd"),
        ("hard", "h3", str(box.host / "secret"))))  # absolute: a name under /tmp, absent
    assert (box.rootfs / "tmp" / "h1").is_symlink()
    assert not (box.rootfs / "tmp" / "h2").exists() and not (box.rootfs / "tmp" / "h3").exists()
    assert len(errors) == 2
    assert box.host_untouched()


def test_dotdot_and_absolute_member_names(box: Box) -> None:
    errors = extract_archive(box.fd, "/tmp/in", archive(
        ("file", "../../escaped", b"x"), ("file", "/etc/abs", b"a"), ("file", "ok", b"ok")))
    assert errors == ["tar: refusing to write outside /tmp/in: ../../escaped "
                      "(member name contains '..')"]
    assert not (box.rootfs / "escaped").exists() and not (box.rootfs.parent / "escaped").exists()
    assert (box.rootfs / "tmp" / "in" / "etc" / "abs").read_bytes() == b"a"
    assert (box.rootfs / "tmp" / "in" / "ok").read_bytes() == b"ok"


def test_copy_out_never_reads_the_host(box: Box) -> None:
    os.symlink(str(box.host), box.rootfs / "tmp" / "x")
    with tarfile.open(fileobj=io.BytesIO(create_archive(box.fd, ["/tmp/x"]))) as tar:
        [member] = tar.getmembers()
    assert member.issym() and member.linkname == str(box.host)
    with pytest.raises(FileNotFoundError):
        create_archive(box.fd, ["/tmp/x/secret"])
    box.inside(box.host).mkdir(parents=True)
    (box.inside(box.host) / "secret").write_text("container\n")
    with tarfile.open(fileobj=io.BytesIO(create_archive(box.fd, ["/tmp/x/secret"]))) as tar:
        f = tar.extractfile("tmp/x/secret")
        assert f is not None and f.read() == b"container\n"


def test_has_tar_looks_inside_the_container(box: Box) -> None:
    (box.rootfs / "bin").mkdir()
    os.symlink("/usr/bin/tar", box.rootfs / "bin" / "tar")  # the host has one; the box has not
    assert not has_tar(box.fd)
    (box.rootfs / "usr" / "bin").mkdir(parents=True)
    (box.rootfs / "usr" / "bin" / "tar").write_bytes(b"\x7fELF")
    assert has_tar(box.fd)

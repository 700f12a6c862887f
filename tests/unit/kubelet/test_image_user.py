"""The container's user resolved in the image's own files, as containerd does, and the
kubelet's runAsNonRoot check."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from kubelite.kubelet.container_config import user_string, verify_run_as_non_root
from kubelite.kubelet.container_stop import stop_signal
from kubelite.kubelet.envvars import ConfigError
from kubelite.kubelet.image_user import UserLookupError, resolve, resolve_in_root

PASSWD = """root:x:0:0:root:/root:/bin/bash
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
mysql:x:100:101:MariaDB Server,,,:/nonexistent:/bin/false
broken line
"""
GROUP = """root:x:0:
www-data:x:33:
mysql:x:101:
ssl-cert:x:104:mysql,postgres
audio:x:29:www-data
"""


@pytest.mark.parametrize("user, want", [
    ("mysql", (100, 101, [104])),            # a name: its primary group and member groups
    ("mysql:33", (100, 33, [104])),
    ("mysql:www-data", (100, 33, [104])),
    ("100", (100, 101, [104])),              # a uid in passwd: its primary group too
    ("4242", (4242, 0, [])),                 # a uid not in passwd: group 0, nothing else
    ("4242:7", (4242, 7, [])),
    ("www-data", (33, 33, [29])),
    ("", (0, 0, [])),
])
def test_user_strings_resolve_as_containerd_resolves_them(user: str, want: tuple[int, int, list[int]]) -> None:
    got = resolve(user, PASSWD, GROUP)
    assert (got.uid, got.gid, got.additional_gids) == want


def test_unknown_names_are_errors_in_containerds_words() -> None:
    with pytest.raises(UserLookupError, match="unable to find user nobody: no matching entries in passwd file"):
        resolve("nobody", PASSWD, GROUP)
    with pytest.raises(UserLookupError, match="unable to find group staff: no matching entries in group file"):
        resolve("mysql:staff", PASSWD, GROUP)


def test_the_files_are_read_inside_the_image_even_through_a_planted_symlink(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "real").mkdir()
    (root / "real" / "passwd").write_text("app:x:1234:1234::/:/bin/sh\n")
    os.symlink("/real/passwd", root / "etc" / "passwd")  # absolute: must stay in the image
    who = resolve_in_root("app", str(root))
    assert (who.uid, who.gid) == (1234, 1234)
    os.unlink(root / "etc" / "passwd")
    os.symlink("/etc/shadow-of-the-host-does-not-exist", root / "etc" / "passwd")
    with pytest.raises(UserLookupError):
        resolve_in_root("app", str(root))


def test_runasuser_and_runasgroup_override_the_images_user() -> None:
    assert user_string({}, {"User": "mysql"}) == "mysql"
    assert user_string({"runAsUser": 999}, {"User": "mysql:mysql"}) == "999:mysql"
    assert user_string({"runAsGroup": 5}, {"User": "mysql"}) == "mysql:5"
    assert user_string({}, {}) == ""


def _pod(sc: dict[str, object]) -> dict[str, object]:
    return {"metadata": {"name": "db", "namespace": "default", "uid": "u1"},
            "spec": {"securityContext": sc, "containers": [{"name": "c"}]}}


@pytest.mark.parametrize("sc, image_user, message", [
    ({"runAsNonRoot": True}, "mysql",
     'container has runAsNonRoot and image has non-numeric user (mysql), cannot verify user is '
     'non-root (pod: "db_default(u1)", container: c)'),
    ({"runAsNonRoot": True}, "", 'container has runAsNonRoot and image will run as root (pod: "db_default(u1)", container: c)'),
    ({"runAsNonRoot": True}, "0:0", "image will run as root"),
    ({"runAsNonRoot": True, "runAsUser": 0}, "1000", "container's runAsUser breaks non-root policy"),
])
def test_run_as_non_root_refuses_what_would_run_as_root(
        sc: dict[str, object], image_user: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        verify_run_as_non_root(_pod(sc), {"name": "c"}, {"User": image_user})


@pytest.mark.parametrize("sc, image_user", [
    ({"runAsNonRoot": True}, "1000"),
    ({"runAsNonRoot": True, "runAsUser": 1000}, "mysql"),
    ({}, "mysql"),
    ({"runAsNonRoot": False}, ""),
])
def test_run_as_non_root_lets_a_verifiable_non_root_user_start(sc: dict[str, object], image_user: str) -> None:
    verify_run_as_non_root(_pod(sc), {"name": "c"}, {"User": image_user})


@pytest.mark.parametrize("name, want", [
    ("", signal.SIGTERM), ("SIGQUIT", signal.SIGQUIT), ("quit", signal.SIGQUIT), ("3", 3),
    ("SIGRTMIN+3", signal.SIGRTMIN + 3), ("SIGWINCH", signal.SIGWINCH), ("NOPE", signal.SIGTERM),
    ("999", signal.SIGTERM),
])
def test_the_images_stop_signal_is_parsed_as_containerd_parses_it(name: str, want: int) -> None:
    assert stop_signal(name) == want

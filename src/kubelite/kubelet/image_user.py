"""Who a container's process is: the user string resolved in the image's own /etc/passwd and
/etc/group, as containerd's oci.WithUser and oci.WithAdditionalGIDs do.

The user string is `USER`, `USER:GROUP`, `UID` or `UID:GID` (from runAsUser/runAsGroup or the
image's `USER`). A name must be in the image's files (`unable to find user mysql: no matching
entries in passwd file`); a number need not be. Without a group the user's primary group from
/etc/passwd is used (0 when the uid has no entry). The groups that list the user's name in
/etc/group become additional groups, before the pod's supplementalGroups and fsGroup.

The files are the container's, so they are read inside its root (safepath: a symlinked
/etc/passwd pointing at the host's resolves inside the image) and read at most 1 MiB each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kubelite.kubelet.safepath import open_dir, open_in_root

MAX_FILE = 1 << 20


class UserLookupError(Exception):
    """The image's USER (or runAsUser's name) cannot be resolved."""


@dataclass
class ProcessUser:
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Passwd:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class _Group:
    name: str
    gid: int
    members: tuple[str, ...]


def parse_passwd(text: str) -> list[_Passwd]:
    out = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 4 or line.startswith("#"):
            continue
        try:
            out.append(_Passwd(fields[0], int(fields[2]), int(fields[3])))
        except ValueError:
            continue
    return out


def parse_group(text: str) -> list[_Group]:
    out = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) < 3 or line.startswith("#"):
            continue
        try:
            members = tuple(m for m in (fields[3] if len(fields) > 3 else "").split(",") if m)
            out.append(_Group(fields[0], int(fields[2]), members))
        except ValueError:
            continue
    return out


def read_in_root(rootfs: str, path: str) -> str:
    """A text file of the image, resolved inside `rootfs`; "" when it is absent."""
    root = open_dir(rootfs)
    try:
        try:
            ref = open_in_root(root, path)
        except (FileNotFoundError, NotADirectoryError):
            return ""
        try:
            fd = os.open(f"/proc/self/fd/{ref}", os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return ""  # a directory, a socket...
        finally:
            os.close(ref)
        with os.fdopen(fd, "rb") as f:
            return f.read(MAX_FILE).decode("utf-8", errors="replace")
    finally:
        os.close(root)


def resolve(user: str, passwd: str, group: str) -> ProcessUser:
    """The uid, gid and member groups for a user string (see the module docstring)."""
    name_part, _, group_part = user.partition(":")
    users = parse_passwd(passwd)
    groups = parse_group(group)
    entry: _Passwd | None
    if name_part.isdigit():
        uid = int(name_part)
        entry = next((u for u in users if u.uid == uid), None)
    elif name_part:
        entry = next((u for u in users if u.name == name_part), None)
        if entry is None:
            raise UserLookupError(f"unable to find user {name_part}: no matching entries in passwd file")
        uid = entry.uid
    else:
        uid, entry = 0, next((u for u in users if u.uid == 0), None)
    if group_part.isdigit():
        gid = int(group_part)
    elif group_part:
        found = next((g for g in groups if g.name == group_part), None)
        if found is None:
            raise UserLookupError(f"unable to find group {group_part}: no matching entries in group file")
        gid = found.gid
    else:
        gid = entry.gid if entry is not None else 0
    extra: list[int] = []
    if entry is not None:
        extra = [g.gid for g in groups if entry.name in g.members and g.gid != gid]
    return ProcessUser(uid, gid, list(dict.fromkeys(extra)))


def resolve_in_root(user: str, rootfs: str) -> ProcessUser:
    return resolve(user, read_in_root(rootfs, "/etc/passwd"), read_in_root(rootfs, "/etc/group"))

"""Pod volumes: names, exactly one source each, and the common sources' own fields."""

from __future__ import annotations

import posixpath

import msgspec

from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.resources import parse_field

HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                   "CharDevice", "BlockDevice")
MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"


def source_fields(vol: msgspec.Struct) -> list[str]:
    """JSON names of the volume-source fields set on a Volume (or PV spec)."""
    out = []
    for attr, json_name in zip(vol.__struct_fields__, vol.__struct_encode_fields__, strict=True):
        if attr == "name":
            continue
        if getattr(vol, attr) is not None:
            out.append(json_name)
    return out


def validate_local_descending_path(target: str, path: str) -> list[FieldError]:
    """A relative path that never climbs out with '..' (subPath, items[].path)."""
    errs: list[FieldError] = []
    if posixpath.isabs(target):
        errs.append(invalid(path, target, "must be a relative path"))
    if ".." in target.replace("\\", "/").split("/"):
        errs.append(invalid(path, target, "must not contain '..'"))
    return errs


def _mode(mode: int | None, path: str) -> list[FieldError]:
    if mode is not None and not 0 <= mode <= 0o777:
        return [invalid(path, mode, MODE_ERROR)]
    return []


def _items(items: list[core_v1.KeyToPath] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, item in enumerate(items or []):
        p = index(path, i)
        if not item.key:
            errs.append(required(child(p, "key")))
        if not item.path:
            errs.append(required(child(p, "path")))
        else:
            errs += validate_local_descending_path(item.path, child(p, "path"))
        errs += _mode(item.mode, child(p, "mode"))
    return errs


def _source(vol: core_v1.Volume, path: str) -> list[FieldError]:
    """Checks of the one volume source that is set."""
    errs: list[FieldError] = []
    if vol.host_path is not None:
        p = child(path, "hostPath")
        if not vol.host_path.path:
            errs.append(required(child(p, "path")))
        else:
            if ".." in vol.host_path.path.split("/"):
                errs.append(invalid(child(p, "path"), vol.host_path.path,
                                    "must not contain '..'"))
        if vol.host_path.type is not None and vol.host_path.type not in HOST_PATH_TYPES:
            errs.append(not_supported(child(p, "type"), vol.host_path.type, HOST_PATH_TYPES))
    if vol.empty_dir is not None and vol.empty_dir.size_limit is not None:
        p = child(path, "emptyDir", "sizeLimit")
        q = parse_field(vol.empty_dir.size_limit, p, errs)
        if q is not None and q.nanos < 0:
            errs.append(invalid(p, str(q), "must be greater than or equal to 0"))
    if vol.config_map is not None:
        p = child(path, "configMap")
        if not vol.config_map.name:
            errs.append(required(child(p, "name")))
        errs += _mode(vol.config_map.default_mode, child(p, "defaultMode"))
        errs += _items(vol.config_map.items, child(p, "items"))
    if vol.secret is not None:
        p = child(path, "secret")
        if not vol.secret.secret_name:
            errs.append(required(child(p, "secretName")))
        errs += _mode(vol.secret.default_mode, child(p, "defaultMode"))
        errs += _items(vol.secret.items, child(p, "items"))
    if vol.persistent_volume_claim is not None:
        if not vol.persistent_volume_claim.claim_name:
            errs.append(required(child(path, "persistentVolumeClaim", "claimName")))
    if vol.projected is not None:
        errs += _mode(vol.projected.default_mode, child(path, "projected", "defaultMode"))
    if vol.downward_api is not None:
        errs += _mode(vol.downward_api.default_mode, child(path, "downwardAPI", "defaultMode"))
        for i, f in enumerate(vol.downward_api.items or []):
            errs += validate_local_descending_path(
                f.path, child(index(child(path, "downwardAPI", "items"), i), "path"))
    return errs


def validate_volumes(volumes: list[core_v1.Volume] | None,
                     path: str) -> tuple[dict[str, core_v1.Volume], list[FieldError]]:
    """ValidateVolumes: the valid volumes by name, and the errors."""
    errs: list[FieldError] = []
    valid: dict[str, core_v1.Volume] = {}
    for i, vol in enumerate(volumes or []):
        p = index(path, i)
        name_path = child(p, "name")
        el: list[FieldError] = []
        sources = source_fields(vol)
        if not sources:
            el.append(required(p, "must specify a volume type"))
        elif len(sources) > 1:
            el.append(forbidden(child(p, sources[1]), "may not specify more than 1 volume type"))
        el += _source(vol, p)
        if not vol.name:
            el.append(required(name_path))
        else:
            el += [invalid(name_path, vol.name, m) for m in names.is_dns1123_label(vol.name)]
        if vol.name in valid:
            el.append(duplicate(name_path, vol.name))
        if el:
            errs += el
        else:
            valid[vol.name] = vol
    return valid, errs

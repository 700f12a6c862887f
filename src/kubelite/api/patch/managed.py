"""Decode and encode `metadata.managedFields`.

Managers are identified as Kubernetes does (BuildManagerIdentifier): by name, operation and
subresource, plus apiVersion for Update managers (appliers keep one entry across versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import PatchError
from .fieldpath import FieldSet

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"

ManagerKey = tuple[str, str, str, str]  # (manager, operation, subresource, apiVersion or "")


@dataclass(frozen=True)
class ManagedEntry:
    """One managedFields entry: who owns which fields, since when."""

    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def key(self) -> ManagerKey:
        return manager_key(self.manager, self.operation, self.subresource, self.api_version)

    def describe(self) -> str:
        """The manager as conflict messages print it (printManager)."""
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = FIELDS_V1
        out["fieldsV1"] = self.fields.to_fields_v1()
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def manager_key(manager: str, operation: str, subresource: str, api_version: str) -> ManagerKey:
    return (manager, operation, subresource, api_version if operation != APPLY else "")


def decode_managed_fields(entries: Any) -> dict[ManagerKey, ManagedEntry]:
    """Parse `metadata.managedFields`; anything malformed is a PatchError."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise PatchError("failed to decode managed fields: managedFields must be a list")
    out: dict[ManagerKey, ManagedEntry] = {}
    for raw in entries:
        if not isinstance(raw, dict):
            raise PatchError("failed to decode managed fields: entry is not an object")
        if raw.get("fieldsType") != FIELDS_V1:
            raise PatchError(
                f"failed to decode managed fields: unsupported fields type: {raw.get('fieldsType')!r}"
            )
        operation = raw.get("operation")
        if operation not in (APPLY, UPDATE):
            raise PatchError(f"failed to decode managed fields: unknown operation {operation!r}")
        entry = ManagedEntry(
            manager=str(raw.get("manager") or ""),
            operation=str(operation),
            api_version=str(raw.get("apiVersion") or ""),
            fields=FieldSet.from_fields_v1(raw.get("fieldsV1") or {}),
            time=raw.get("time"),
            subresource=str(raw.get("subresource") or ""),
        )
        out[entry.key] = entry
    return out


def encode_managed_fields(managers: dict[ManagerKey, ManagedEntry]) -> list[dict[str, Any]]:
    """Entries in Kubernetes' order: Apply before Update, then by time, manager, version."""
    entries = sorted(
        (e for e in managers.values() if e.fields),
        key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource),
    )
    return [e.to_json() for e in entries]

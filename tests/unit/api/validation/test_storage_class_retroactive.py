"""A PVC created without a class may get one later; an existing class may not change."""

from __future__ import annotations

import msgspec

from kubelite.api.types import core_v1
from kubelite.api.validation.storage import validate_persistent_volume_claim_update


def claim(cls: str | None) -> core_v1.PersistentVolumeClaim:
    return msgspec.convert({
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 **({"storageClassName": cls} if cls is not None else {})},
    }, core_v1.PersistentVolumeClaim)


def test_setting_a_class_on_a_claim_without_one_is_allowed() -> None:
    assert validate_persistent_volume_claim_update(claim("local-path"), claim(None)) == []


def test_changing_a_class_is_forbidden() -> None:
    errs = validate_persistent_volume_claim_update(claim("other"), claim("local-path"))
    assert errs and errs[0].field == "spec"

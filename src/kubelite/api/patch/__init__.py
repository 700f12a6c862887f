"""Patch machinery: JSON merge patch, JSON patch, strategic merge patch and server-side apply.

All functions take and return plain JSON values, never modify their inputs, and raise
PatchError for patches that cannot be applied.
"""

from ._json import go_repr
from .apply import ApplyConflict, created_managed_fields, record_update, server_side_apply
from .errors import PatchError
from .fieldpath import FieldSet, path_string
from .jsonpatch import apply_json_patch
from .merge import apply_merge_patch, create_merge_patch
from .schema import merge_keys_for, schema_for
from .strategic import apply_strategic_merge_patch

__all__ = [
    "ApplyConflict",
    "FieldSet",
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_strategic_merge_patch",
    "create_merge_patch",
    "go_repr",
    "created_managed_fields",
    "merge_keys_for",
    "path_string",
    "record_update",
    "schema_for",
    "server_side_apply",
]

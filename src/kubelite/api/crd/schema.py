"""The one import of the schema engine for the rest of api/crd (swap the stand-in here)."""

from kubelite.api.crd.structural_stub import CompiledSchema, SchemaError, validate_crd_schema

__all__ = ["CompiledSchema", "SchemaError", "validate_crd_schema"]

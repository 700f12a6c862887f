"""The one import of the schema engine for the CRD serving code (api/crd/structural.py)."""

from kubelite.api.crd.structural import CompiledSchema, SchemaError, validate_crd_schema

__all__ = ["CompiledSchema", "SchemaError", "validate_crd_schema"]

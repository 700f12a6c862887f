"""What every generated API type shares."""

from __future__ import annotations

import msgspec

# Kubernetes accepts a number or a string for both of these.
IntOrString = int | str
Quantity = str | int | float


class K8sObject(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every API type: keyword-only, and absent fields stay absent on output."""

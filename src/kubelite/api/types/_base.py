"""What every generated API type shares."""

from __future__ import annotations

import msgspec

# Kubernetes accepts a number or a string for both of these.
IntOrString = int | str
Quantity = str | int | float


class K8sObject(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """Base of every API type: keyword-only, and absent fields stay absent on output.

    Not tracked by the cycle collector (gc=False): API objects are trees, never cycles, and
    processes keep tens of thousands of them in caches, which every collection would walk."""

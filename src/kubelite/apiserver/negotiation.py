"""Content negotiation: decoding request bodies and choosing response shapes."""

from __future__ import annotations

from typing import Any

import yaml

from kubelite.api import status as st
from kubelite.api.decoding import DecodeError, decode_json, decode_yaml

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAX_BODY = 3 * 1024 * 1024


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def decode_body(body: bytes, content_type: str) -> Any:
    """Decode a request body by its Content-Type (JSON, YAML, Kubernetes protobuf)."""
    if len(body) > MAX_BODY:
        raise st.RequestEntityTooLarge("the request body is too large: limit is 3 MiB")
    kind = media_type(content_type)
    if kind == PROTOBUF:
        from kubelite.api.protobuf import decode_k8s_protobuf

        try:
            return decode_k8s_protobuf(body)
        except ValueError as e:
            raise st.BadRequest(f"unable to decode protobuf body: {e}") from None
    if not body.strip():
        raise st.BadRequest("the request body is empty")
    if kind.endswith("yaml"):
        try:
            return decode_yaml(body)
        except (yaml.YAMLError, DecodeError) as e:
            raise st.BadRequest(f"error decoding YAML: {e}") from None
    if kind and not kind.endswith("json") and kind not in ("*/*", "text/plain"):
        raise st.UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, {PROTOBUF}")
    try:
        return decode_json(body)
    except (ValueError, DecodeError) as e:  # msgspec.DecodeError is a ValueError
        raise st.BadRequest(f"error decoding JSON body: {e}") from None


def wants_table(accept: str) -> bool:
    """kubectl's human output asks for `application/json;as=Table;v=v1;g=meta.k8s.io`."""
    if "Table" not in accept:  # the common case, decided without parsing
        return False
    for part in accept.split(","):
        params = {
            k.strip(): v.strip()
            for k, _, v in (p.partition("=") for p in part.split(";")[1:])
        }
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return True
    return False

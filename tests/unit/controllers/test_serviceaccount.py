"""The default ServiceAccount and the kube-root-ca.crt ConfigMap in every namespace."""

from __future__ import annotations

from pathlib import Path

from kubelite.controllers.serviceaccount import (
    ROOT_CA_CONFIGMAP,
    ServiceAccountController,
    ca_bundle_of,
)
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


async def test_namespaces_get_default_account_and_root_ca_which_come_back() -> None:
    client = FakeClient()
    await client.put_direct("namespaces", {"metadata": {"name": "team"}})
    await client.put_direct("namespaces", {"metadata": {"name": "gone",
                                                        "deletionTimestamp": "2024-01-01T00:00:00Z"}})
    ctrl = ServiceAccountController(client, ca_pem=PEM)  # type: ignore[arg-type]
    await ctrl.start()
    try:
        await eventually(lambda: client.get_obj("serviceaccounts", "default", "team") is not None
                         and client.get_obj("configmaps", ROOT_CA_CONFIGMAP, "team") is not None,
                         timeout=3.0)
        cm = client.get_obj("configmaps", ROOT_CA_CONFIGMAP, "team")
        assert cm is not None and cm["data"] == {"ca.crt": PEM}
        assert "kubernetes.io/description" in cm["metadata"]["annotations"]
        assert client.get_obj("serviceaccounts", "default", "gone") is None  # terminating
        await client.delete("serviceaccounts", "default", "team")
        await eventually(lambda: client.get_obj("serviceaccounts", "default", "team") is not None,
                         timeout=3.0)
        await client.put_direct("configmaps", {**cm, "data": {"ca.crt": "tampered"}})
        await eventually(lambda: (client.get_obj("configmaps", ROOT_CA_CONFIGMAP, "team")
                                  or {}).get("data") == {"ca.crt": PEM}, timeout=3.0)
        await client.put_direct("namespaces", {"metadata": {"name": "late"}})
        await eventually(lambda: client.get_obj("serviceaccounts", "default", "late") is not None,
                         timeout=3.0)
    finally:
        await ctrl.stop()


def test_ca_bundle_is_empty_without_tls() -> None:
    assert ca_bundle_of(FakeClient()) == ""  # type: ignore[arg-type]


def test_ca_bundle_is_the_ca_the_client_trusts(tmp_path: Path) -> None:
    from cryptography import x509

    from kubelite.apiserver.certs import ensure_ca
    from kubelite.client import ApiClient

    crt, _ = ensure_ca(tmp_path)
    bundle = ca_bundle_of(ApiClient("https://127.0.0.1:1", ca_file=str(crt)))
    assert x509.load_pem_x509_certificate(bundle.encode()) == \
        x509.load_pem_x509_certificate(crt.read_bytes())

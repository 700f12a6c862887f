"""The cluster CA, the client CA and the API server's serving certificate, made on first start.

Two CAs, as k3s keeps them: the cluster (server) CA signs serving certificates and is what a
join token pins; the client CA signs the client certificates the API server accepts as users
(nodes' `system:node:NAME`). Keeping them apart means a certificate the cluster CA signed
for another purpose (the API server's kubelet client certificate) is never a user here.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubelite import hostaddr, pki
from kubelite.controlplane.system_services import in_cluster_names

CA_CN = "kubelite-ca"
CLIENT_CA_CN = "kubelite-client-ca"
# The names in-cluster clients use for the API server (kube-apiserver's defaults).


def ensure_ca(tls_dir: Path, name: str = "ca", cn: str = CA_CN) -> tuple[Path, Path]:
    """The CA certificate and key paths (`<name>.crt`, `<name>.key`), creating them if absent."""
    crt, key_path = tls_dir / f"{name}.crt", tls_dir / f"{name}.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    key = pki.new_key()
    cert = pki.issue(cn, key.public_key(), signer_key=key, ca=True)
    pki.write_pair(crt, key_path, cert, key)
    return crt, key_path


def ensure_client_ca(tls_dir: Path) -> tuple[Path, Path]:
    """`client-ca.crt`/`.key`: the CA of the client certificates the API server accepts."""
    return ensure_ca(tls_dir, "client-ca", CLIENT_CA_CN)


def apiserver_hosts(listen_host: str, extra: list[str], service_cidr: str) -> set[str]:
    """The names and addresses the API server's certificate covers: every address of this
    machine, the listen host, `--tls-san`/`--advertise-address` extras, the in-cluster names
    and the first address of the service range (the `kubernetes` Service's ClusterIP)."""
    hosts = hostaddr.machine_addresses() | {listen_host, *extra}
    if service_cidr:
        hosts.update(in_cluster_names(service_cidr))
    return {h for h in hosts if h and h not in ("0.0.0.0", "::")}


def ensure_serving_cert(tls_dir: Path, hosts: list[str] | set[str], name: str = "server") -> tuple[Path, Path]:
    """A serving certificate `<name>.crt`/`.key` signed by the cluster CA for `hosts` (IPs and DNS names).

    Re-issued when the wanted names are not all in the existing certificate.
    """
    ca_crt, ca_key_path = ensure_ca(tls_dir)
    crt, key_path = tls_dir / f"{name}.crt", tls_dir / f"{name}.key"
    wanted = set(hosts) | pki.local_hosts()
    if crt.exists() and key_path.exists():
        if wanted <= pki.san_hosts(x509.load_pem_x509_certificate(crt.read_bytes())):
            return crt, key_path
    ca_cert, ca_key = pki.load_signer(ca_crt, ca_key_path)
    key = pki.new_key()
    cert = pki.issue(
        f"kubelite-{name}", key.public_key(), signer_key=ca_key, issuer=ca_cert.subject,
        sans=pki.subject_alt_names(wanted), usages=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    pki.write_pair(crt, key_path, cert, key)
    return crt, key_path

"""Peer TLS of the embedded etcd, as k3s makes it: a peer CA shared by every server of the
cluster (`tls/etcd/peer-ca.crt`, copied to joining servers with the bootstrap data) and, per
server, one certificate `peer-server-client.crt` for both sides of peer connections (serverAuth
and clientAuth), covering the advertised address. etcd is run with `--peer-client-cert-auth`,
so only holders of a certificate from this CA may join the raft group."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubelite import pki

PEER_CA = "peer-ca"
PEER_CA_CN = "etcd-peer-ca"
PEER_CERT = "peer-server-client"
PEER_CERT_CN = "etcd-peer"


def ensure_peer_ca(tls_dir: Path) -> tuple[Path, Path]:
    """The peer CA's certificate and key, made if absent (a new cluster)."""
    crt, key_path = tls_dir / f"{PEER_CA}.crt", tls_dir / f"{PEER_CA}.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    key = pki.new_key()
    pki.write_pair(crt, key_path, pki.issue(PEER_CA_CN, key.public_key(), signer_key=key, ca=True), key)
    return crt, key_path


def _still_good(crt: Path, ca_cert: x509.Certificate, hosts: set[str]) -> bool:
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return hosts <= pki.san_hosts(cert)


def ensure_peer_cert(tls_dir: Path, hosts: set[str]) -> tuple[Path, Path]:
    """This server's peer certificate for `hosts` (plus loopback and the hostname); re-issued
    when it misses one of them or was signed by another peer CA."""
    ca_crt, ca_key_path = ensure_peer_ca(tls_dir)
    ca_cert, ca_key = pki.load_signer(ca_crt, ca_key_path)
    crt, key_path = tls_dir / f"{PEER_CERT}.crt", tls_dir / f"{PEER_CERT}.key"
    wanted = hosts | pki.local_hosts()
    if crt.exists() and key_path.exists() and _still_good(crt, ca_cert, wanted):
        return crt, key_path
    key = pki.new_key()
    cert = pki.issue(PEER_CERT_CN, key.public_key(), signer_key=ca_key, issuer=ca_cert.subject,
                     sans=pki.subject_alt_names(wanted),
                     usages=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    pki.write_pair(crt, key_path, cert, key)
    return crt, key_path

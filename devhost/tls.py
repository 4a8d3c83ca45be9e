"""A local certificate authority and a ``localhost`` server certificate for the HTTPS stand-ins.

MSAL only talks to an authority over HTTPS, so the MSA stand-in is served with TLS. The
certificates are created once in ``folder`` (and reused while they are valid for at least a
day); clients trust ``TlsPaths.ca`` (e.g. ``verify=`` of MSAL or httpx).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=1)


@dataclass(frozen=True)
class TlsPaths:
    cert: Path  # server certificate (PEM), followed by nothing else
    key: Path  # server private key (PEM, mode 600)
    ca: Path  # CA certificate (PEM): what clients trust


def _paths(folder: Path) -> tuple[TlsPaths, Path]:
    return (
        TlsPaths(cert=folder / "localhost.pem", key=folder / "localhost-key.pem", ca=folder / "ca.pem"),
        folder / "ca-key.pem",
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret with mode 600 from the start (no window where it is world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _usable(paths: TlsPaths, ca_key: Path) -> bool:
    if not all(p.is_file() for p in (paths.cert, paths.key, paths.ca, ca_key)):
        return False
    try:
        now = dt.datetime.now(dt.UTC)
        for path in (paths.cert, paths.ca):
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            if cert.not_valid_after_utc - RENEW_BEFORE < now:
                return False
        server = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        ca = x509.load_pem_x509_certificate(paths.ca.read_bytes())
        server.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def ensure_certificates(folder: Path) -> TlsPaths:
    """Create (or reuse) a local CA and a server certificate for localhost / 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, ca_key_path = _paths(folder)
    if _usable(paths, ca_key_path):
        return paths

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devhost local CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    _write_private(ca_key_path, _key_pem(ca_key))
    _write_private(paths.key, _key_pem(server_key))
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return paths

"""The kubeconfig the simulator writes for kubectl and the official client (one cluster, one
bearer-token user, one context; mode 0600), and the throwaway CA and serving certificate behind it.

TLS is not optional: kubectl's clientcmd only reads a user's credentials when the transport is
TLS, so over plain http it would never send the token.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONTEXT_NAME",
    "KubeconfigEntry",
    "ServingCertificate",
    "make_serving_certificate",
    "new_token",
    "read_kubeconfig",
    "write_kubeconfig",
]

CONTEXT_NAME = "harness-simulator"


def new_token() -> str:
    """A random bearer token (256 bits), URL-safe so it fits in a header without escaping."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KubeconfigEntry:
    """What a client needs from the file. `repr` hides the token so it never reaches a log."""

    server: str
    token: str
    context: str = CONTEXT_NAME
    namespace: str = "default"
    #: PEM of the CA that signed the server's certificate (https servers)
    certificate_authority: bytes | None = None

    def __repr__(self) -> str:
        return f"KubeconfigEntry(server={self.server!r}, context={self.context!r}, token=<hidden>)"


def _document(entry: KubeconfigEntry) -> dict[str, Any]:
    name = entry.context
    cluster: dict[str, Any] = {"server": entry.server}
    if entry.certificate_authority:
        encoded = base64.b64encode(entry.certificate_authority).decode()
        cluster["certificate-authority-data"] = encoded
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": entry.token}}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": name, "namespace": entry.namespace},
            }
        ],
        "current-context": name,
    }


def write_kubeconfig(path: Path, entry: KubeconfigEntry) -> Path:
    """Write `path` atomically (temp file + rename) with mode 0600 from the first byte."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(_document(entry), sort_keys=False)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)  # in case a umask or ACL widened it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return path


def read_kubeconfig(path: Path, context: str | None = None) -> KubeconfigEntry:
    """Server and token of `context` (the current one by default) in a token-user kubeconfig."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a kubeconfig")
    wanted = context or document.get("current-context")
    contexts = {c["name"]: c["context"] for c in document.get("contexts") or []}
    if wanted not in contexts:
        raise ValueError(f"{path} has no context {wanted!r}")
    ctx = contexts[wanted]
    clusters = {c["name"]: c["cluster"] for c in document.get("clusters") or []}
    users = {u["name"]: u["user"] for u in document.get("users") or []}
    cluster = clusters[ctx["cluster"]]
    token = str(users[ctx["user"]].get("token", ""))
    authority = cluster.get("certificate-authority-data")
    return KubeconfigEntry(
        str(cluster["server"]),
        token,
        str(wanted),
        str(ctx.get("namespace") or "default"),
        base64.b64decode(authority) if authority else None,
    )


@dataclass(frozen=True)
class ServingCertificate:
    """A fresh CA and the server certificate it signed (SAN 127.0.0.1 and localhost)."""

    ca_pem: bytes
    cert_path: Path  # server certificate then the CA, PEM
    key_path: Path  # the server's private key, mode 0600


def make_serving_certificate(directory: Path, host: str = "127.0.0.1") -> ServingCertificate:
    """Generate a throwaway CA and a serving certificate for `host`; valid for 10 years.

    The CA key never touches the disk; the serving key is written with mode 0600.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harness-simulator-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / "apiserver.crt"
    key_path = directory / "apiserver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return ServingCertificate(ca_pem, cert_path, key_path)


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)

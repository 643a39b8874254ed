"""Make a private CA and the NATS certificates for a compose installation (or a test).

    python deploy/tls/make_certs.py                      # into deploy/tls/certs (gitignored)
    python deploy/tls/make_certs.py --out DIR --san nats.example.gov.vn --san 10.0.0.5

Writes, with the file names cert-manager uses, so the NATS configuration is the same in compose
and Kubernetes (`deploy/nats/tls.conf` reads /etc/nats-tls/{tls.crt,tls.key,ca.crt}):

    ca.crt, ca.key              the private CA (keep ca.key off the server once done)
    server/tls.crt, tls.key     the NATS server: client port and cluster routes (server and
    server/ca.crt               client auth: a route is a TLS client of the other node)
    client/tls.crt, tls.key     a client certificate (an agency's system, if it is asked for one)
    client/ca.crt

Clients trust the CA with ca.crt (the services: CCHC_<SERVICE>_NATS_TLS_CA=<that file>). Names on the server
certificate: nats, localhost, 127.0.0.1, ::1 and every --san. Keys are ECDSA P-256, written 0600;
an existing folder is refused unless --force, so a running installation's CA is not replaced by
accident. Needs the `cryptography` package.
"""

import argparse
import datetime as dt
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_OUT = Path(__file__).resolve().parent / "certs"
DEFAULT_NAMES = ["nats", "localhost", "127.0.0.1", "::1"]
CA_DAYS = 3650
LEAF_DAYS = 397


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CCHC Ledger"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _alt_names(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # 0600 from the start
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
             days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days)))


def make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("CCHC Ledger private CA")
    cert = (_builder(name, name, key, CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, common_name: str,
              names: list[str], usages: list[x509.ObjectIdentifier],
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (_builder(_name(common_name), ca.subject, key, LEAF_DAYS)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, key_encipherment=False, key_cert_sign=False,
                   crl_sign=False, content_commitment=False, data_encipherment=False,
                   key_agreement=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), critical=False))
    if names:
        builder = builder.add_extension(_alt_names(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def make_all(out: Path, extra_names: list[str], force: bool = False) -> Path:
    """Write the CA, the server and the client certificates under ``out``; returns ``out``."""
    if (out / "ca.crt").exists() and not force:
        raise FileExistsError(f"{out} already holds a CA (use --force to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    ca, ca_key = make_ca()
    _write_cert(out / "ca.crt", ca)
    _write_key(out / "ca.key", ca_key)
    leaves = {
        "server": ("nats", DEFAULT_NAMES + extra_names,
                   [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        "client": ("cchc-client", [], [ExtendedKeyUsageOID.CLIENT_AUTH]),
    }
    for folder, (common_name, names, usages) in leaves.items():
        (out / folder).mkdir(exist_ok=True)
        cert, key = make_leaf(ca, ca_key, common_name, names, usages)
        _write_cert(out / folder / "tls.crt", cert)
        _write_key(out / folder / "tls.key", key)
        _write_cert(out / folder / "ca.crt", ca)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--san", action="append", default=[],
                        help="another DNS name or IP address of the NATS server (repeatable)")
    parser.add_argument("--force", action="store_true", help="replace an existing CA")
    args = parser.parse_args(argv)
    try:
        out = make_all(args.out, args.san, args.force)
    except FileExistsError as error:
        print(f"make_certs: {error}", file=sys.stderr)
        return 1
    print(f"CA and certificates written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

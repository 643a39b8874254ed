"""The CA a process's NATS connections trust: the installation's own, named by a setting.

Deployed, the NATS servers present certificates of the installation's private CA
(deploy/tls/make_certs.py). A process given that CA's file (``CCHC_<SERVICE>_NATS_TLS_CA``, and
alike for the gateway, the anchor signer and the backup job) trusts it alone on its NATS
connections: not the public roots, whose CAs sign certificates for anyone's names. Nothing else
in the process trusts it: the gateway's calls out of the installation (OIDC, webhooks) keep the
public roots (``cchc.gateway.outbound_http``).

Before this setting the CA came through OpenSSL's process-wide ``SSL_CERT_FILE``, which every
TLS client of the process then trusted beside the system's CAs. Without the setting that still
works: nats-py's default context reads the variable.

A replay reader (``cchc.runtime.replay_reader``) trusts what its parent's connection trusts: the
parent's CA certificates travel with its task (``ca_certificates``), so no runner needs the
setting.
"""

import ssl
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator
from nats.aio.client import Client as NATS


def client_context(ca_file: str | Path) -> ssl.SSLContext:
    """A client context that trusts the CA (or CAs) in ``ca_file`` alone, with hostname checks."""
    return ssl.create_default_context(cafile=str(ca_file))


def connect_options(ca_file: str | Path | None) -> dict[str, Any]:
    """nats-py's TLS option for a connection trusting ``ca_file``; none without one."""
    return {"tls": client_context(ca_file)} if ca_file else {}


def ca_certificates(nc: NATS) -> str | None:
    """The PEM of the CAs ``nc`` was told to trust (its own TLS context), None when it uses
    OpenSSL's defaults (no context, or one that names no CA of its own)."""
    context = nc.options.get("tls")
    if not isinstance(context, ssl.SSLContext):
        return None
    certificates = context.get_ca_certs(binary_form=True)
    if not certificates:
        return None
    return "".join(ssl.DER_cert_to_PEM_cert(each) for each in certificates)


def context_trusting(pem: str) -> ssl.SSLContext:
    """A client context trusting the CAs of ``pem`` (from ``ca_certificates``) alone."""
    return ssl.create_default_context(cadata=pem)


def readable_ca(path: str | None) -> str | None:
    """A setting's CA file: present, readable and holding at least one certificate. The error
    names what is wrong with the file; pydantic names the setting."""
    if path is None or path == "":
        return None
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise ValueError(f"the CA file {path} cannot be read ({error.strerror})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"the CA file {path} holds no PEM certificate")
    try:
        client_context(path)
    except ssl.SSLError as error:
        raise ValueError(f"the CA file {path} is not a usable certificate ({error.reason})"
                         ) from None
    return path


# A setting naming the CA file of the installation's NATS servers (None: OpenSSL's defaults).
CaFile = Annotated[str | None, AfterValidator(readable_ca)]

"""The gateway's HTTPS client for calls out of the installation: the OIDC provider, the alert
webhook.

Deployed, every process trusts the installation's private CA (the one the NATS servers'
certificates come from) through ``SSL_CERT_FILE`` (deploy/README.md, "TLS"). OpenSSL takes that
variable as its default *file* and keeps the system's CAs through its default *directory*, so
nats-py and smtplib trust both. httpx does not: when the variable is set it trusts that file
alone, and the gateway could no longer reach a provider or webhook with a public certificate
(`CERTIFICATE_VERIFY_FAILED`). The client here trusts OpenSSL's defaults (the variable's file,
the system's directory) and certifi's public roots, which httpx uses when the variable is unset.
"""

import functools
import ssl

import certifi
import httpx


@functools.cache
def trusted_roots() -> ssl.SSLContext:
    """The system's CAs, certifi's and the installation's (``SSL_CERT_FILE``), once per process."""
    context = ssl.create_default_context()  # SSL_CERT_FILE / SSL_CERT_DIR, else the system's
    context.load_verify_locations(cafile=certifi.where())
    return context


def outbound_client(timeout: float | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, verify=trusted_roots())

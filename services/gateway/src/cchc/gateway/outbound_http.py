"""The gateway's HTTPS client for calls out of the installation: the OIDC provider, the alert
webhook.

The installation's private CA (the one the NATS servers' certificates come from) is trusted on
the NATS connection alone (``CCHC_GATEWAY_NATS_TLS_CA``, ``cchc.runtime.nats_tls``), never here:
a certificate that CA signed for an outside name is no reason to trust that name.

An operator whose provider or webhook has a certificate of a CA of their own names it with
``SSL_CERT_FILE``. OpenSSL takes that variable as its default *file* and keeps the system's CAs
through its default *directory*, so smtplib trusts both. httpx does not: when the variable is set
it trusts that file alone, and the gateway could no longer reach a provider or webhook with a
public certificate (`CERTIFICATE_VERIFY_FAILED`). The client here trusts OpenSSL's defaults (the
variable's file, the system's directory) and certifi's public roots, which httpx uses when the
variable is unset.
"""

import functools
import ssl

import certifi
import httpx


@functools.cache
def trusted_roots() -> ssl.SSLContext:
    """The system's CAs, certifi's and the operator's own (``SSL_CERT_FILE``), once per process."""
    context = ssl.create_default_context()  # SSL_CERT_FILE / SSL_CERT_DIR, else the system's
    context.load_verify_locations(cafile=certifi.where())
    return context


def outbound_client(timeout: float | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, verify=trusted_roots())

"""How an operator's command reaches a cluster: ``--nats-url`` (as the ops user) and
``--nats-ca``, the installation's CA (deploy/tls/certs/ca.crt), trusted on that connection
alone, as each service trusts it (``cchc.runtime.nats_tls``). ``CCHC_NATS_TLS_CA`` names it once
for a shell.

Without either, OpenSSL's defaults apply, and ``SSL_CERT_FILE`` still works; but exported in a
shell it makes every TLS client started there (pip, curl, git) trust the installation's CA alone,
instead of the public roots.
"""

import argparse
import os
from typing import Any

from nats.aio.client import Client as NATS

from cchc.runtime import nats_credentials, nats_tls

CA_VARIABLE = "CCHC_NATS_TLS_CA"
CONNECT_TIMEOUT_S = 10


def _ca_file(text: str) -> str | None:
    try:
        return nats_tls.readable_ca(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_options(parser: argparse.ArgumentParser, url_help: str, required: bool = False) -> None:
    """``--nats-url`` and ``--nats-ca`` (by default ``CCHC_NATS_TLS_CA``, checked alike)."""
    parser.add_argument("--nats-url", required=required, help=url_help)
    parser.add_argument(
        "--nats-ca", type=_ca_file, default=os.environ.get(CA_VARIABLE) or None,
        metavar="CA_FILE", help=f"with --nats-url: the installation's CA, trusted on that "
                                f"connection alone (default: ${CA_VARIABLE}; without either, "
                                "OpenSSL's defaults)")


async def connect(url: str, args: argparse.Namespace, **options: Any) -> NATS:
    """A connection to ``url``: the cluster's (``--nats-url``, trusting ``--nats-ca``), or an
    embedded installation's (no TLS)."""
    ca = getattr(args, "nats_ca", None) if url == getattr(args, "nats_url", None) else None
    return await connect_to(url, ca, **options)


async def connect_to(url: str, ca: str | None, **options: Any) -> NATS:
    """A connection to ``url`` trusting ``ca`` (None: OpenSSL's defaults). A server that cannot
    be reached, or whose certificate is not trusted, fails the command at once: nats-py would
    otherwise try again for good, and the command hang without a word."""
    options = {"allow_reconnect": False, "connect_timeout": CONNECT_TIMEOUT_S, **options}
    options.pop("max_reconnect_attempts", None)
    return await nats_credentials.connect(url, ca, **options)

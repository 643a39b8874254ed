"""A NATS URL's user and password handed to nats-py as options, not left in the URL.

nats-py takes a server's credentials from that server's URL, and the servers it learns from the
cluster (the ``connect_urls`` of the server's INFO) have none. So a client whose node went away,
reconnecting to one of the other nodes under its own address, sent CONNECT without a user and
was answered "Authorization Violation"; with its only URL dead (a node's own address rather than
a name that resolves to every node) it never got back. This was the "Authorization Violation" a
node coming back answered once in the compose cluster's fault drill, where the `nats` alias
resolved to a live node on a later try. Given as options, the credentials go with every server
nats-py connects to, discovered ones included (``libs/runtime/tests/test_nats_credentials.py``).

A setting may name several nodes, separated by commas (``tls://u:pw@nats-0:4222,tls://nats-1:4222``):
where no name resolves to every node (hosts outside Kubernetes, no DNS round robin), the client
still starts while the first node is down, and knows the others before the cluster tells it.
"""

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import nats
from nats.aio.client import Client as NATS

from cchc.runtime.nats_tls import connect_options


def servers_and_credentials(url: str | Sequence[str]) -> dict[str, Any]:
    """nats-py's ``servers``, ``user`` and ``password`` for ``url`` (one URL, several separated
    by commas, or a list): the URLs without their credentials, and the credentials they carry
    (the first one's; a user alone is a token, as nats-py reads it)."""
    urls = split_urls(url) if isinstance(url, str) else list(url)
    servers: list[str] = []
    credentials: dict[str, Any] = {}
    for each in urls:
        parts = urlsplit(each)
        if parts.username is not None and not credentials:
            credentials = ({"token": unquote(parts.username)} if parts.password is None else
                           {"user": unquote(parts.username), "password": unquote(parts.password)})
        servers.append(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
    return {"servers": servers, **credentials}


def split_urls(setting: str) -> list[str]:
    """The URLs of a setting that names one node or several, separated by commas."""
    return [each.strip() for each in setting.split(",") if each.strip()]


async def connect(url: str | Sequence[str], ca_file: str | None = None, **options: Any) -> NATS:
    """``nats.connect`` to ``url`` with its credentials given to every server, trusting the CA
    of ``ca_file`` alone when one is named (``cchc.runtime.nats_tls``)."""
    return await nats.connect(**servers_and_credentials(url), **connect_options(ca_file),
                              **options)

"""NATS failures that mean "try again", told apart from bugs.

While a JetStream stream's leader moves (a node restarts in a cluster) or a connection is being
re-established, a request may time out, find no responders, or be answered 503. Such a failure
during a command's reads, its receipt number or its append used to escape the handler as an
unexpected error (500); it is the service-unavailable domain error instead (503, Retry-After),
which the endpoints answer as a problem of kind ``unavailable``.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from nats.errors import (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoRespondersError,
    StaleConnectionError,
)
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from cchc.runtime.domain_errors import Unavailable

PASSING_NATS_FAILURES: tuple[type[BaseException], ...] = (
    NatsTimeout,
    asyncio.TimeoutError,
    NoRespondersError,
    NoStreamResponseError,
    ServiceUnavailableError,
    ConnectionClosedError,
    ConnectionReconnectingError,
    StaleConnectionError,
)


@contextmanager
def unavailable_on_nats_failure(what: str) -> Iterator[None]:
    """Inside: a passing NATS failure becomes ``Unavailable`` naming ``what`` failed."""
    try:
        yield
    except PASSING_NATS_FAILURES as error:
        raise Unavailable(f"{what} did not answer ({type(error).__name__}); try again") from error

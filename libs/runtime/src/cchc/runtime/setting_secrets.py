"""Secrets in settings that must not be the published examples' placeholders.

``deploy/compose.env.example`` and the Kubernetes ``secrets/*.env.example`` name every secret with
a ``change-me-…`` value. A deployment that copied one ran with passwords anyone can read in this
repository: the gateway's NATS password alone lets its holder send any service a request in any
official's name. So a process refuses to start on a URL whose password is such a placeholder, or
empty beside a user name, naming the setting and never echoing it.
"""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

PLACEHOLDER = "change-me"
HOW_TO_MAKE = "deploy/make_secrets.py makes every one"


def is_placeholder(secret: str) -> bool:
    return PLACEHOLDER in secret.lower()


def _password_set(url: str) -> str:
    # A NATS setting may name several nodes, separated by commas: each is checked.
    for each in url.split(","):
        password = urlsplit(each.strip()).password
        if password is None:
            continue  # no password at all (a local server, trust or peer authentication)
        if not password:  # "user:@host": a password meant, left empty (an example's blank)
            raise ValueError("its password is empty")
        if is_placeholder(password):
            raise ValueError(f"its password is still the example's placeholder; {HOW_TO_MAKE}")
    return url


# A connection URL (NATS, a database) whose password, when it has one, is a real one.
ConnectionUrl = Annotated[str, AfterValidator(_password_set)]

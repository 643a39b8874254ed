"""An installation's data folder: JetStream data, projection databases, the signing secret, the
signing keys of the services and of the anchor signer (``signing-keys/``).

The folder and every folder in it are 0700, every file the installation writes 0600 from the
moment it exists (created with that mode, never chmod-ed afterwards): the projections hold
applicants' personal data and the folder holds the signing secret. An existing folder or file
of a looser mode (an installation from before) is tightened when the installation is opened.
"""

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cchc.runtime import nats_auth
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.signing_keys import Keyring, SigningKey, ensure_key_file

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) as a folder only its owner may enter."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists with mode 0600, keeping what it holds; a later write keeps it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, a 0600 file from its creation on (secrets, tokens, configs)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        handle.write(text)
    return path


def owner_only_umask() -> int:
    """For the rest of this process (``cchc up``): whatever it creates is its owner's only."""
    return os.umask(0o077)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files and folders created meanwhile (by this process or a child it starts, such as
    nats-server, which keeps the umask it inherits) are for their owner only."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


class InstallationBusy(Exception):
    """Another process (a running `cchc up`) holds this data folder."""


@dataclass(frozen=True)
class Installation:
    root: Path

    @property
    def nats_dir(self) -> Path:
        return self.root / "jetstream"

    @property
    def nats_config(self) -> Path:
        return self.root / "nats-server.conf"

    @property
    def nats_url_file(self) -> Path:
        return self.root / "nats.url"

    @property
    def admin_token_file(self) -> Path:
        return self.root / "admin.token"

    @property
    def keys_dir(self) -> Path:
        return self.root / "signing-keys"

    @property
    def keyring_file(self) -> Path:
        """The public keys of every signing key this installation made (rotated ones too)."""
        return self.keys_dir / "keyring.json"

    def signing_key_file(self, owner: str) -> Path:
        """The private key of a service (dossier, planning, scoring) or of the anchor signer:
        each process is given only its own file."""
        return self.keys_dir / f"{owner}.key"

    def signing_key(self, owner: str) -> SigningKey:
        """``owner``'s key, made at first start like the token secret; its public key is added
        to the keyring. A key file removed (rotation) makes a new key with a new id; the old
        public key stays in the keyring, so the events it signed still verify."""
        private_dir(self.keys_dir)
        key = ensure_key_file(self.signing_key_file(owner), owner)
        ring = self.keyring()
        if ring.get(key.key_id) is None:
            write_private(self.keyring_file, ring.with_key(key.public_key()).to_json())
        return key

    def keyring(self) -> Keyring:
        return Keyring.from_file(self.keyring_file) if self.keyring_file.exists() else Keyring()

    def database_url(self, service: str) -> str:
        return f"sqlite:///{self.root / 'projections' / f'{service}.db'}"

    def prepare(self) -> None:
        private_dir(self.root)
        private_dir(self.root / "projections")
        private_dir(self.nats_dir)
        private_dir(self.keys_dir)
        # nats-server's log, which NatsServer truncates with a plain write: it keeps this mode.
        private_file(self.nats_dir / "nats-server.log")
        # What an older installation left readable: secret, token, config, databases.
        for path in [*self.root.iterdir(), *(self.root / "projections").iterdir()]:
            if path.is_file() and not path.is_symlink():
                private_file(path)

    def jwt_secret(self) -> str:
        """The installation's signing secret, made once and kept (tokens survive restarts)."""
        path = self.root / "jwt.secret"
        if not path.exists():
            private_dir(self.root)
            write_private(path, secrets.token_urlsafe(48))
        return path.read_text().strip()

    def nats_passwords(self) -> dict[str, str]:
        """A NATS password per process (gateway, each service, ops), made once and kept 0600."""
        path = self.root / "nats-credentials.json"
        known = json.loads(path.read_text()) if path.exists() else {}
        if set(known) != set(nats_auth.USERS):
            known = {**nats_auth.new_passwords(), **{
                user: password for user, password in known.items() if user in nats_auth.USERS}}
            private_dir(self.root)
            write_private(path, json.dumps(known, indent=2) + "\n")
        return known

    def nats_url_of(self, url: str, user: str) -> str:
        """``url`` with the credentials of ``user`` (gateway, dossier, planning, scoring, ops)."""
        return nats_auth.url_with_credentials(url, user, self.nats_passwords()[user])

    def write_nats_config(self) -> Path:
        # Sync every write to disk before acknowledging it: an event store may not lose an
        # acknowledged event to a power cut (the default syncs every two minutes).
        # Every connection logs in as its process's user (an anonymous one is refused); the
        # store folder is given on the command line (-sd).
        config = "jetstream {\n  sync_interval: always\n}\n"
        config += nats_auth.authorization_block(self.nats_passwords())
        return write_private(self.nats_config, config)

    def lock(self) -> IO[str]:
        """Hold the folder for this process: one stack (or one offline rebuild) at a time."""
        private_dir(self.root)
        handle = open(private_file(self.root / ".lock"), "w")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise InstallationBusy(f"{self.root} is in use by a running `cchc up`") from None
        return handle

    @contextlib.contextmanager
    def offline_nats(self) -> Iterator[str]:
        """The installation's own nats-server for a command run while it is stopped (rebuild,
        migrate, archive): the folder held, the server started on it; yields the ops user's
        URL. ``InstallationBusy`` while ``cchc up`` holds the folder."""
        held = self.lock()
        try:
            self.prepare()
            server = NatsServer(store_dir=self.nats_dir, config_file=self.write_nats_config())
            server.start()
            try:
                yield self.nats_url_of(server.url, "ops")
            finally:
                server.stop()
        finally:
            held.close()

    @contextlib.contextmanager
    def ops_nats(self) -> Iterator[str]:
        """The ops user's URL of this installation's NATS, running or not: the server of the
        running `cchc up`, or one started on the folder meanwhile (``offline_nats``)."""
        with contextlib.ExitStack() as stack:
            try:
                url = stack.enter_context(self.offline_nats())
            except InstallationBusy:
                url = self.nats_url_of(self.nats_url_file.read_text().strip(), "ops")
            yield url

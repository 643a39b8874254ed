"""An installation's data folder: JetStream data, projection databases, the signing secret."""

import fcntl
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO


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

    def database_url(self, service: str) -> str:
        return f"sqlite:///{self.root / 'projections' / f'{service}.db'}"

    def prepare(self) -> None:
        (self.root / "projections").mkdir(parents=True, exist_ok=True)
        self.nats_dir.mkdir(parents=True, exist_ok=True)

    def jwt_secret(self) -> str:
        """The installation's signing secret, made once and kept (tokens survive restarts)."""
        path = self.root / "jwt.secret"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def write_nats_config(self) -> Path:
        # Sync every write to disk before acknowledging it: an event store may not lose an
        # acknowledged event to a power cut (the default syncs every two minutes).
        # The store folder is given on the command line (-sd).
        self.nats_config.write_text("jetstream {\n  sync_interval: always\n}\n")
        return self.nats_config

    def lock(self) -> IO[str]:
        """Hold the folder for this process: one stack (or one offline rebuild) at a time."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".lock", "w")  # noqa: SIM115 - held until the process ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise InstallationBusy(f"{self.root} is in use by a running `cchc up`") from None
        return handle

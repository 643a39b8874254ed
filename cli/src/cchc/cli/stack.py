"""The embedded stack: nats-server from the wheel, the services and the gateway in one process."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

from nats.aio.client import Client as NATS
import uvicorn

from cchc.runtime import nats_credentials
from cchc.cli.backup import KEYRING
from cchc.cli.installation import Installation, owner_only_umask, private_umask, write_private
from cchc.cli.migrate import migrate_all
from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.gateway.app import SHUTDOWN_GRACE_S, create_app
from cchc.planning.config import PlanningSettings
from cchc.planning.main import PlanningService
from cchc.gateway.auth import issue_token
from cchc.gateway.config import GatewaySettings
from cchc.runtime.anchor_signer import AnchorSettings, AnchorSigner
from cchc.runtime.backup_job import BackupSettings, keep_backing_up
from cchc.runtime.waiting import cancel_and_wait
from cchc.runtime.endpoints import inbox_prefix
from cchc.runtime.natsserver import NatsServer
from cchc.scoring.config import ScoringSettings
from cchc.scoring.main import ScoringService

log = logging.getLogger("cchc.stack")


class _Server(uvicorn.Server):
    """uvicorn without its own signal capture: it would re-raise SIGTERM after serving and kill
    the process before the services and nats-server are stopped. The stack handles signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

SERVICES = ["dossier", "planning", "scoring"]
DAY_S = 86400.0


def embedded_backups(folder: Path) -> BackupSettings:
    """The scheduled backups of `cchc up` into ``folder``: daily unless CCHC_BACKUP_INTERVAL_S
    says otherwise; CCHC_BACKUP_KEEP and CCHC_BACKUP_RECIPIENT as for the deployed job."""
    settings = BackupSettings(folder=folder.resolve())
    return settings if settings.interval_s else settings.model_copy(update={"interval_s": DAY_S})


class EmbeddedStack:
    def __init__(
        self, data_dir: Path, http_port: int, host: str = "127.0.0.1",
        database_urls: dict[str, str] | None = None, backups: BackupSettings | None = None,
    ) -> None:
        self.installation = Installation(data_dir.resolve())
        self.backups = backups
        self.database_urls = database_urls or {}
        self.http_port = http_port
        self.host = host
        self.nats: NatsServer | None = None
        self.services: list[DossierService | PlanningService | ScoringService] = []
        self.server: uvicorn.Server | None = None
        self.anchor_signer: AnchorSigner | None = None
        self._anchor_nc: NATS | None = None
        self._anchor_task: asyncio.Task | None = None
        self._anchor_stop = asyncio.Event()
        self._backup_task: asyncio.Task | None = None

    async def start(self) -> None:
        installation = self.installation
        self._lock = installation.lock()
        installation.prepare()
        with private_umask():  # nats-server keeps it: its JetStream files are 0600 too
            self.nats = NatsServer(
                store_dir=installation.nats_dir, config_file=installation.write_nats_config()
            ).start()
        write_private(installation.nats_url_file, self.nats.url + "\n")
        log.info("nats-server %s (JetStream in %s)", self.nats.url, installation.nats_dir)
        await self._migrate_subjects()
        dossier = DossierService(
            DossierSettings(nats_url=self.nats_url_of("dossier"),
                            database_url=self._database_url("dossier"),
                            signing_key_file=self._own_key_file("dossier"))
        )
        await dossier.start()
        self.services.append(dossier)
        planning = PlanningService(
            PlanningSettings(nats_url=self.nats_url_of("planning"),
                            database_url=self._database_url("planning"),
                            signing_key_file=self._own_key_file("planning"))
        )
        await planning.start()
        self.services.append(planning)
        scoring = ScoringService(
            ScoringSettings(nats_url=self.nats_url_of("scoring"),
                            database_url=self._database_url("scoring"),
                            signing_key_file=self._own_key_file("scoring"))
        )
        await scoring.start()
        self.services.append(scoring)
        await self._start_anchor_signer()
        self._start_backups()
        secret = installation.jwt_secret()
        # Short-lived and rewritten at each start: 12 hours (issue 13).
        admin_token = issue_token(secret, "admin", "admin", ttl_s=12 * 3600)
        installation.admin_token_file.write_text(admin_token + "\n")
        installation.admin_token_file.chmod(0o600)
        app = create_app(GatewaySettings(
            nats_url=self.nats_url_of("gateway"), jwt_secret=secret, services=SERVICES,
            audit_keyring_file=str(installation.keyring_file)))
        config = uvicorn.Config(app, host=self.host, port=self.http_port, log_level="info",
                                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
        self.server = _Server(config)

    def _own_key_file(self, owner: str) -> str:
        """The key file of one process, made at first start (the others' it is never given)."""
        self.installation.signing_key(owner)
        return str(self.installation.signing_key_file(owner))

    async def _start_anchor_signer(self) -> None:
        """The anchor signer, with its own NATS user and its own key file (no service loads it);
        every CCHC_ANCHOR_INTERVAL_S seconds (default 300)."""
        key = self.installation.signing_key("anchor")
        self._anchor_nc = await nats_credentials.connect(self.nats_url_of("anchor"), name="cchc-anchor",
                                             inbox_prefix=inbox_prefix("anchor"))
        self.anchor_signer = AnchorSigner(self._anchor_nc, key)
        await self.anchor_signer.setup()
        interval = AnchorSettings().interval_s
        self._anchor_task = asyncio.create_task(
            self.anchor_signer.run(interval, self._anchor_stop), name="anchor-signer")

    def _start_backups(self) -> None:
        """The scheduled backup of cchc.runtime.backup_job, as its own NATS user (it may list
        and snapshot the streams, nothing else); the public keyring goes beside each backup, so
        that a restore verifies the events of this installation's keys."""
        if self.backups is None:
            return
        settings = self.backups.model_copy(update={"nats_url": self.nats_url_of("backup")})
        keyring = self.installation.keyring

        def beside(target: Path) -> None:
            (target / KEYRING).write_text(keyring().to_json())

        self._backup_task = asyncio.create_task(
            keep_backing_up(settings, asyncio.Event(), beside), name="backups")

    async def _migrate_subjects(self) -> None:
        """A log written with the earlier subject scheme is migrated before the services start
        (the scheme-1 copies stay: `cchc migrate-subjects --drop-legacy`)."""
        nc = await nats_credentials.connect(self.nats_url_of("ops"))
        try:
            for line in await migrate_all(nc):
                log.info("subject scheme: %s", line)
        finally:
            await nc.close()

    def nats_url_of(self, user: str) -> str:
        """The embedded nats-server's URL with the credentials of ``user`` (ops for tools)."""
        assert self.nats is not None
        return self.installation.nats_url_of(self.nats.url, user)

    def _database_url(self, service: str) -> str:
        return self.database_urls.get(service) or self.installation.database_url(service)

    async def serve(self) -> None:
        """Serve HTTP until Ctrl-C / SIGTERM, then stop everything in order."""
        assert self.server is not None
        log.info("gateway on http://%s:%d (admin token in %s)",
                 self.host, self.http_port, self.installation.admin_token_file)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.server.serve()
        finally:
            await self.stop()

    def request_stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True

    async def stop(self) -> None:
        if self._backup_task is not None:  # a backup cut short stays unfinished: pruned later
            await cancel_and_wait(self._backup_task)
            self._backup_task = None
        self._anchor_stop.set()
        if self._anchor_task is not None:
            await asyncio.gather(self._anchor_task, return_exceptions=True)
            self._anchor_task = None
        if self._anchor_nc is not None:
            await self._anchor_nc.close()
            self._anchor_nc = None
        for service in reversed(self.services):
            await service.stop()
        self.services.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        if getattr(self, "_lock", None) is not None:
            self._lock.close()
            self._lock = None


async def run_stack(data_dir: Path, http_port: int, backups: BackupSettings | None = None,
                    ) -> None:
    owner_only_umask()  # `cchc up`: all it creates in the data folder is the owner's alone
    stack = EmbeddedStack(data_dir, http_port, backups=backups)
    try:
        await stack.start()
    except BaseException:
        await stack.stop()
        raise
    await stack.serve()

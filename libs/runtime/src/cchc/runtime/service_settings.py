"""The settings every service process takes (env prefix ``CCHC_<SERVICE>_``): one class per
service, all alike but for the prefix and the default database (``for_service``)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cchc.runtime.nats_tls import CaFile
from cchc.runtime.projection_upgrade import RETIRE_AFTER_S
from cchc.runtime.setting_secrets import ConnectionUrl


class ServiceSettingsBase(BaseSettings):
    # A wrong setting is named, its value never echoed: the input holds the secrets (the
    # passwords in the URLs, the signing key), and the error goes to the log.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    nats_url: ConnectionUrl = "nats://127.0.0.1:4222"
    # The CA file of the installation's NATS servers, trusted alone on this process's NATS
    # connections (cchc.runtime.nats_tls); unset: OpenSSL's defaults (SSL_CERT_FILE, the system's).
    nats_tls_ca: CaFile = None
    database_url: ConnectionUrl
    stream_replicas: int = Field(default=1, ge=1, le=5)  # NATS clusters have 3 or 5 nodes
    projection_batch_size: int = Field(default=500, gt=0)
    # How long a replaced projection version keeps its tables after the new one took over
    # (cchc.runtime.projection_upgrade): longer than a rolling update takes to retire the
    # replicas of the previous release.
    projection_retire_after_s: float = Field(RETIRE_AFTER_S, ge=0)
    # Requests each endpoint handles at once in one process: 2, measured (bench/run.py,
    # 100,000 dossiers). At 1 the 16-client receipts queue behind one another (225/s against
    # 258/s for the hand-written layer before FastStream); at 2, 289/s with command-to-
    # projection p99 93 ms; at 4, 316-363/s but p99 134-210 ms, and at 8 or 16 the handlers
    # crowd the projection off the event loop (p99 270-470 ms). Scale further with replicas.
    max_workers: int = Field(default=2, gt=0)
    # How long before the moment a command is recorded an officer's business time may lie;
    # admin and home_affairs may enter older times, marked as late entries (DOMAIN.md).
    late_entry_window_hours: float = Field(24.0, gt=0)
    # The per-message log lines of FastStream (off: one line per request is noise at load).
    log_messages: bool = False
    # Serve this process's Prometheus metrics at :<port>/metrics (deploy: one process per
    # service); 0 = off, as in the embedded `cchc up`, whose gateway serves them all.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # The Ed25519 key this service signs its events with (cchc.runtime.signing_keys): base64
    # text (CCHC_<SERVICE>_SIGNING_KEY) or a file holding it, a mounted secret
    # (CCHC_<SERVICE>_SIGNING_KEY_FILE). Neither: events are appended unsigned (a warning at
    # start).
    signing_key: str | None = None
    signing_key_file: str | None = None


def settings_config(service: str) -> SettingsConfigDict:
    """The model_config of ``service``'s settings class."""
    return SettingsConfigDict(env_prefix=f"CCHC_{service.upper()}_", hide_input_in_errors=True)

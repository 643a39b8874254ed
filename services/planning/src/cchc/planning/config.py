"""Settings of the planning service (env prefix CCHC_PLANNING_)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class PlanningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCHC_PLANNING_")

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "sqlite:///planning.db"
    stream_replicas: int = 1
    projection_batch_size: int = 500
    # Requests each endpoint handles at once in one process. One, measured (bench/run.py): at 8
    # the handlers crowd the projection off the event loop, and command-to-projection p99 at 16
    # clients went from ~140 ms to ~470 ms with no gain in throughput. Scale with replicas.
    max_workers: int = 1
    # The per-message log lines of FastStream (off: one line per request is noise at load).
    log_messages: bool = False
    # Serve this process's Prometheus metrics at :<port>/metrics (deploy: one process per
    # service); 0 = off, as in the embedded `cchc up`, whose gateway serves them all.
    metrics_port: int = 0

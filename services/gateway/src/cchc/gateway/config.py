"""Settings of the gateway (env prefix CCHC_GATEWAY_). Nothing is created at import time."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCHC_GATEWAY_")

    nats_url: str = "nats://127.0.0.1:4222"
    jwt_secret: str
    services: list[str] = ["dossier"]
    request_timeout_s: float = 10.0
    idempotency_ttl_s: int = 86400
    host: str = "127.0.0.1"
    port: int = 8000

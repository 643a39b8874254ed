"""Settings of the gateway (env prefix CCHC_GATEWAY_). Nothing is created at import time."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCHC_GATEWAY_")

    nats_url: str = "nats://127.0.0.1:4222"
    jwt_secret: str = Field(min_length=1)
    services: list[str] = ["dossier", "planning", "scoring"]
    request_timeout: float = Field(default=10.0, gt=0, description="seconds a service may take")
    # A health probe must answer well before a load balancer's own timeout.
    health_timeout: float = Field(default=2.0, gt=0)
    idempotency_ttl_s: int = Field(default=86400, gt=0)
    host: str = "127.0.0.1"
    port: int = 8000

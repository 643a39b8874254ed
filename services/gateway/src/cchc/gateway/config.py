"""Settings of the gateway (env prefix CCHC_GATEWAY_). Nothing is created at import time."""

import ipaddress
from datetime import time

from pydantic import Field, NonNegativeFloat, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cchc.runtime.nats_tls import CaFile
from cchc.runtime.setting_secrets import ConnectionUrl, is_placeholder


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCHC_GATEWAY_", hide_input_in_errors=True)

    nats_url: ConnectionUrl = "nats://127.0.0.1:4222"
    # The CA file of the installation's NATS servers, trusted alone on the NATS connection and
    # nowhere else (cchc.runtime.nats_tls); unset: OpenSSL's defaults.
    nats_tls_ca: CaFile = None
    # HS256 wants a key of 256 bits at least (RFC 7518, 3.2): a short or a copied example secret
    # lets anyone sign tokens, an admin's included. deploy/make_secrets.py and `cchc up` make
    # 64 characters (secrets.token_urlsafe(48)).
    jwt_secret: str = Field(min_length=32)
    services: list[str] = ["dossier", "planning", "scoring"]
    request_timeout: float = Field(default=10.0, gt=0, description="seconds a service may take")
    # A health probe must answer well before a load balancer's own timeout.
    health_timeout: float = Field(default=2.0, gt=0)
    idempotency_ttl_s: int = Field(default=86400, gt=0)
    # Replicas of the gateway's JetStream state (its idempotency and revocation buckets), as the
    # services' streams have: 3 on a NATS cluster, where one replica would make every command
    # with an Idempotency-Key fail while its node is down.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    max_import_bytes: int = Field(default=64 * 1024 * 1024, gt=0,
                                  description="cap on a file sent to POST /imports/{kind}")
    max_body_bytes: int = Field(default=1024 * 1024, gt=0,
                                description="larger request bodies are refused with 413")
    max_event_streams: int = Field(default=4, gt=0,
                                   description="live event streams one principal may hold open")
    host: str = "127.0.0.1"
    port: int = 8000
    # The address citizens reach the public lookup at (the receipt slip's QR code); unset: the
    # address the slip's request came to.
    public_url: str | None = None
    # Requests one client address may make to the public lookup (no token), in `limits` syntax.
    public_rate_limit: str = "30/minute"
    # 0: GET /metrics on the HTTP port (the embedded default: one page for every process). A
    # port: the metrics there only, never on the public port (deployed: deploy/k8s).
    metrics_port: int = Field(default=0, ge=0, le=65535)

    # --- signed history (issue 14) ---------------------------------------------------------------
    # The public keyring of the services' and the anchor signer's keys (cchc.runtime.signing_keys):
    # JSON text, or a file (a ConfigMap; the embedded default's signing-keys/keyring.json).
    # Published at GET /api/v1/audit/keys and in the AsyncAPI document; the audit checks by it.
    audit_keyring: str | None = None
    audit_keyring_file: str | None = None

    # --- tokens (issue 13) ---------------------------------------------------------------------
    # A token's agency must be a registered agency code: codes seen in the dossier service's
    # list are kept; a code not (yet) in it is asked again, and a miss is remembered this long.
    agency_miss_ttl_s: float = Field(default=2.0, ge=0)
    agency_refresh_s: float = Field(default=60.0, gt=0, description="re-read the whole list")

    # --- single sign-on with the province's OIDC provider ----------------------------------------
    # Unset: only the installation's HS256 tokens. Set: RS256/ES256 tokens of that issuer too.
    oidc_issuer: str | None = None
    oidc_audience: str | None = Field(default=None, description="default: oidc_client_id")
    oidc_client_id: str | None = Field(default=None, description="the dashboard's public client")
    oidc_scope: str = "openid profile"
    oidc_algorithms: list[str] = ["RS256", "ES256"]
    # Claim paths, dot-separated (Keycloak: realm_access.roles, or resource_access.<client>.roles)
    oidc_sub_claim: str = "sub"
    oidc_role_claim: str = "realm_access.roles"
    oidc_agency_claim: str = "agency"
    # A group claim holds paths such as "/agencies/SO-TP": only values under this prefix count.
    oidc_agency_prefix: str = ""
    # The provider's role names -> ours (admin, home_affairs, inspector, officer); unmapped names
    # count only when they already are one of ours.
    oidc_role_map: dict[str, str] = {}
    oidc_http_timeout_s: float = Field(default=5.0, gt=0)
    oidc_jwks_max_age_s: float = Field(default=3600.0, gt=0)
    # An unknown kid refetches the JWKS, at most this often (a rotation needs one refetch).
    oidc_jwks_min_refresh_s: float = Field(default=10.0, ge=0)

    # --- alerts (issue 16): dossiers due today, on the next working day, and overdue ------------
    # The working morning's digest, at this local time (Asia/Ho_Chi_Minh); with several replicas
    # the first to claim the day delivers (alerts/schedule.py).
    alerts_schedule: bool = True
    alerts_time: time = time(7, 30)
    # Email: the SMTP server, and the recipients per agency code ("*": every agency without its
    # own list), e.g. {"STTTT": ["vanphong@stttt.tinh.gov.vn"], "*": ["cchc@snv.tinh.gov.vn"]}.
    alerts_smtp_host: str | None = None
    alerts_smtp_port: int = Field(default=25, gt=0, le=65535)
    alerts_smtp_starttls: bool = False
    alerts_smtp_user: str | None = None
    alerts_smtp_password: str | None = None
    alerts_email_sender: str = "cchc-ledger@localhost"
    alerts_email_recipients: dict[str, list[str]] = {}
    # Webhook: each digest POSTed as JSON; with a secret, signed (X-CCHC-Signature: sha256=...).
    alerts_webhook_url: str | None = None
    alerts_webhook_secret: str | None = None
    alerts_delivery_timeout_s: float = Field(default=10.0, gt=0)
    # The morning run sends a digest again when its email or webhook failed for a passing
    # reason (the server unreachable, a timeout, HTTP 5xx/408/429, SMTP 4xx): after each of
    # these delays in turn, seconds, until it is sent or the delays run out.
    alerts_retry_delays_s: list[NonNegativeFloat] = [60.0, 300.0, 900.0]

    @model_validator(mode="after")
    def _jwt_secret_not_an_example(self) -> "GatewaySettings":
        if is_placeholder(self.jwt_secret):
            raise ValueError("jwt_secret: still the example's placeholder; make one with "
                             "deploy/make_secrets.py or `python3 -c \"import secrets; "
                             "print(secrets.token_urlsafe(48))\"`")
        return self

    @model_validator(mode="after")
    def _smtp_login_over_tls(self) -> "GatewaySettings":
        """A login without STARTTLS would send the SMTP password in clear, beyond this host."""
        if (self.alerts_smtp_user and not self.alerts_smtp_starttls
                and not _loopback(self.alerts_smtp_host)):
            raise ValueError("alerts_smtp_user: the SMTP password would cross the network in "
                             "clear; set CCHC_GATEWAY_ALERTS_SMTP_STARTTLS=true")
        return self


def _loopback(host: str | None) -> bool:
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name
        return False

"""The gateway's calls out of the installation (OIDC provider, alert webhook): the public roots,
an operator's own CA where ``SSL_CERT_FILE`` names one (an on-premises provider's), and never the
installation's NATS CA, which the gateway trusts on its NATS connection alone
(``CCHC_GATEWAY_NATS_TLS_CA``, as deployed).

httpx, when that variable is set, trusts that file alone; the gateway's client also trusts
certifi's public roots and the system's. A public CA is played here by a second private CA put
in certifi's place (no public CA's key is at hand, and no network either)."""

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import certifi
import httpx
import pytest

from cchc.gateway import outbound_http
from cchc.gateway.alerts.channels import worth_retrying
from cchc.gateway.config import GatewaySettings
from cchc.gateway.oidc import OidcVerifier

DISCOVERY = b'{"issuer": "https://127.0.0.1", "jwks_uri": "https://127.0.0.1/keys"}'


@asynccontextmanager
async def https_server(certs: Path) -> AsyncIterator[str]:
    """Answers any request with a discovery document, over TLS with ``certs``' server
    certificate (names localhost, 127.0.0.1)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "server" / "tls.crt", certs / "server" / "tls.key")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (len(DISCOVERY), DISCOVERY))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # a client that refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.close()


@pytest.fixture
def deployed_trust(tmp_path, monkeypatch, deploy_tls):  # type: ignore[no-untyped-def]
    """An operator's own CA as SSL_CERT_FILE; a "public" CA as certifi's."""
    installation = deploy_tls.make_certs(tmp_path / "installation")
    public = deploy_tls.make_certs(tmp_path / "public")
    monkeypatch.setenv("SSL_CERT_FILE", str(installation / "ca.crt"))
    monkeypatch.setattr(certifi, "where", lambda: str(public / "ca.crt"))
    outbound_http.trusted_roots.cache_clear()
    yield installation, public
    outbound_http.trusted_roots.cache_clear()


async def test_outbound_calls_trust_public_and_installation_cas(deployed_trust) -> None:
    installation, public = deployed_trust
    async with https_server(public) as provider, https_server(installation) as on_premises:
        async with httpx.AsyncClient() as plain:  # why: httpx alone trusts SSL_CERT_FILE only
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED") as failed:
                await plain.get(provider)
        assert not worth_retrying(failed.value)  # a certificate refused now is refused later
        async with outbound_http.outbound_client(5.0) as client:
            for url in (provider, on_premises):
                assert (await client.get(url)).json()["issuer"] == "https://127.0.0.1"


async def test_outbound_calls_do_not_trust_the_installations_nats_ca(
        tmp_path, monkeypatch, deploy_tls) -> None:
    """Deployed, the NATS CA is the gateway's NATS setting, not SSL_CERT_FILE: a server with a
    certificate that CA signed (for any name: it is the installation's own, kept by whoever
    runs NATS) is no provider or webhook the gateway trusts."""
    installation = deploy_tls.make_certs(tmp_path / "installation")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    outbound_http.trusted_roots.cache_clear()
    settings = GatewaySettings(jwt_secret="s" * 32,
                               nats_tls_ca=str(installation / "ca.crt"))
    assert settings.nats_tls_ca == str(installation / "ca.crt")
    try:
        async with https_server(installation) as signed_by_the_nats_ca:
            async with outbound_http.outbound_client(5.0) as client:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(signed_by_the_nats_ca)
    finally:
        outbound_http.trusted_roots.cache_clear()


async def test_the_oidc_provider_with_a_public_certificate_is_reached(deployed_trust) -> None:
    _, public = deployed_trust
    async with https_server(public) as provider:
        verifier = OidcVerifier(GatewaySettings(jwt_secret="s" * 32, oidc_issuer=provider,
                                                   oidc_audience="cchc"))
        try:
            assert (await verifier._get_json(provider + "/.well-known/openid-configuration")
                    )["jwks_uri"] == "https://127.0.0.1/keys"
        finally:
            await verifier.close()


class Inbox:
    """aiosmtpd's handler: keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_server(certs: Path) -> AsyncIterator[tuple[int, Inbox]]:
    """An SMTP server on 127.0.0.1 that offers STARTTLS with ``certs``' server certificate."""
    from aiosmtpd.controller import Controller

    from cchc.runtime.natsserver import free_port

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "server" / "tls.crt", certs / "server" / "tls.key")
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def digest() -> dict:
    return {"type": "DossierAlerts", "day": "2026-12-07", "next_working_day": "2026-12-08",
            "agency": "STTTT", "agency_name": "Sở Thông tin và Truyền thông", "count": 0,
            "overdue": [], "due_today": [], "due_tomorrow": []}


def mail_settings(port: int) -> GatewaySettings:
    return GatewaySettings(jwt_secret="s" * 32, alerts_smtp_host="127.0.0.1",
                           alerts_smtp_port=port, alerts_smtp_starttls=True,
                           alerts_email_recipients={"*": ["vanphong@stttt.tinh.gov.vn"]})


async def test_starttls_is_verified_before_the_mail_goes(deployed_trust, tmp_path,
                                                         deploy_tls) -> None:
    """smtplib's STARTTLS checks no certificate by default: any server on the way would have
    had the digest, and the login's password with it."""
    from cchc.gateway.alerts.channels import send_email

    _, public = deployed_trust
    stranger = deploy_tls.make_certs(tmp_path / "stranger")  # a CA nobody here trusts
    async with smtp_server(public) as (port, inbox):
        assert await send_email(mail_settings(port), digest())
        assert len(inbox.messages) == 1
    async with smtp_server(stranger) as (port, inbox):
        with pytest.raises(ssl.SSLCertVerificationError):
            await send_email(mail_settings(port), digest())
        assert inbox.messages == []


def test_a_login_without_starttls_is_refused_beyond_this_host() -> None:
    with pytest.raises(ValueError, match="alerts_smtp_user: the SMTP password would cross"):
        GatewaySettings(jwt_secret="s" * 32, alerts_smtp_host="mail.tinh.gov.vn",
                        alerts_smtp_user="cchc")
    for host in ("127.0.0.1", "localhost", "::1"):  # a relay on this host
        assert GatewaySettings(jwt_secret="s" * 32, alerts_smtp_host=host,
                               alerts_smtp_user="cchc").alerts_smtp_user == "cchc"
    assert GatewaySettings(jwt_secret="s" * 32, alerts_smtp_host="mail.tinh.gov.vn",
                           alerts_smtp_user="cchc", alerts_smtp_starttls=True).alerts_smtp_starttls

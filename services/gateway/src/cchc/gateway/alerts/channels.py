"""The outside channels of the alert digest: an SMTP server and a webhook (both optional)."""

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from typing import Any

import httpx

from cchc.gateway.alerts.digest import digest_email
from cchc.gateway.config import GatewaySettings
from cchc.gateway.outbound_http import trusted_roots

log = logging.getLogger("cchc.gateway.alerts")

SIGNATURE_HEADER = "X-CCHC-Signature"  # sha256=<hex HMAC of the body>, when a secret is set
# HTTP answers that say "later": the server's own trouble, a timeout, too many requests.
_HTTP_LATER = frozenset({408, 429})


def worth_retrying(error: BaseException) -> bool:
    """Whether sending again later may succeed: the server unreachable or silent, HTTP 5xx,
    408 or 429, an SMTP 4xx (temporary) answer. Not a refusal that would come again: another
    HTTP 4xx (the URL, the signature), an SMTP 5xx (the address, the login), a certificate
    that does not verify."""
    if _certificate_refused(error):
        return False
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        return status >= 500 or status in _HTTP_LATER
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, (httpx.TransportError, smtplib.SMTPServerDisconnected, OSError,
                              TimeoutError))


def _certificate_refused(error: BaseException | None) -> bool:
    """The error, or one it was raised from (httpx wraps ssl's), is a failed verification."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, ssl.SSLCertVerificationError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def recipients_of(settings: GatewaySettings, agency: str) -> list[str]:
    """The agency's own addresses, else the addresses for every agency ("*")."""
    table = settings.alerts_email_recipients
    return list(table.get(agency) or table.get("*") or [])


def _send_mail(settings: GatewaySettings, payload: dict[str, Any], recipients: list[str]) -> None:
    message = digest_email(payload, settings.alerts_email_sender, recipients)
    assert settings.alerts_smtp_host is not None
    with smtplib.SMTP(settings.alerts_smtp_host, settings.alerts_smtp_port,
                      timeout=settings.alerts_delivery_timeout_s) as smtp:
        if settings.alerts_smtp_starttls:
            # Verified: smtplib's own default context checks neither the certificate nor the
            # name, and the login below would go to whoever answered.
            smtp.starttls(context=trusted_roots())
        if settings.alerts_smtp_user:
            smtp.login(settings.alerts_smtp_user, settings.alerts_smtp_password or "")
        smtp.send_message(message)


async def send_email(settings: GatewaySettings, payload: dict[str, Any]) -> bool:
    """The digest by email to the agency's recipients; False when not configured for it."""
    recipients = recipients_of(settings, payload["agency"])
    if not settings.alerts_smtp_host or not recipients:
        return False
    await asyncio.to_thread(_send_mail, settings, payload, recipients)
    return True


async def post_webhook(settings: GatewaySettings, client: httpx.AsyncClient,
                       payload: dict[str, Any]) -> bool:
    """The digest POSTed as JSON to the configured URL; False when none is configured."""
    if not settings.alerts_webhook_url:
        return False
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if settings.alerts_webhook_secret:
        digest = hmac.new(settings.alerts_webhook_secret.encode(), body, hashlib.sha256)
        headers[SIGNATURE_HEADER] = f"sha256={digest.hexdigest()}"
    answer = await client.post(settings.alerts_webhook_url, content=body, headers=headers,
                               timeout=settings.alerts_delivery_timeout_s)
    answer.raise_for_status()
    return True

"""A process started with a wrong setting says which setting is wrong, and never echoes what it
was given: its input holds the secrets (passwords in URLs, the JWT secret, the SMTP password),
and the error goes to the log."""

import pytest
from pydantic import ValidationError

from cchc.dossier.config import DossierSettings
from cchc.gateway.config import GatewaySettings
from cchc.runtime.anchor_signer import AnchorSettings

SECRET = "zq-secret-3f1c9a77e2"


@pytest.mark.parametrize(("settings", "given", "wrong"), [
    (GatewaySettings, {"jwt_secret": SECRET * 2, "nats_url": f"tls://gateway:{SECRET}@nats:4222",
                       "alerts_smtp_host": "mail.tinh.gov.vn", "alerts_smtp_user": "cchc",
                       "alerts_smtp_password": SECRET}, "alerts_smtp_user"),
    (GatewaySettings, {"jwt_secret": SECRET * 2, "alerts_smtp_password": SECRET,
                       "alerts_smtp_port": 99999}, "alerts_smtp_port"),
    (DossierSettings, {"database_url": f"postgresql://cchc_dossier:{SECRET}@db/cchc_dossier",
                       "stream_replicas": 0}, "stream_replicas"),
    (AnchorSettings, {"nats_url": f"tls://anchor:{SECRET}@nats:4222", "interval_s": -1},
     "interval_s"),
    (AnchorSettings, {"signing_key": SECRET, "stream_replicas": 0}, "stream_replicas"),
])
def test_a_wrong_setting_is_named_and_the_secrets_are_not_shown(settings, given, wrong) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**given)
    assert wrong in str(refused.value)
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize("secret", ["short-secret", "change-me-gateway-jwt-secret-0123456789"])
def test_a_weak_or_example_token_secret_is_refused(secret: str) -> None:
    """HS256 with a short or published secret lets anyone sign an admin's token."""
    with pytest.raises(ValidationError) as refused:
        GatewaySettings(jwt_secret=secret)
    assert "jwt_secret" in str(refused.value) and secret not in str(refused.value)

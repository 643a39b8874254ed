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


EXAMPLE_URLS = {  # as deploy/compose.env.example and the k8s secrets/*.env.example give them
    "nats": "tls://dossier:change-me-nats-dossier@nats:4222",
    "database": "postgresql://cchc_dossier:change-me-postgres-dossier@postgres:5432/cchc_dossier",
    "empty password": "tls://gateway:@nats:4222",
    # several nodes: the placeholder on a later one is found as well
    "nodes": "tls://dossier:4b1e9f02a7c3d865@nats-0:4222,tls://dossier:change-me-nats@nats-1:4222",
}
REAL_DATABASE = "postgresql://cchc_dossier:3f9a0c51e7d24b68@postgres:5432/cchc_dossier"


@pytest.mark.parametrize(("settings", "field", "others"), [
    (DossierSettings, "nats_url", {"database_url": REAL_DATABASE}),
    (DossierSettings, "database_url", {}),
    (GatewaySettings, "nats_url", {"jwt_secret": SECRET * 2}),
    (AnchorSettings, "nats_url", {}),
])
@pytest.mark.parametrize("example", EXAMPLE_URLS)
def test_a_url_with_the_examples_password_or_none_is_refused(settings, field, others,
                                                              example) -> None:
    """Copied as it is, an example would run every deployment on passwords published here."""
    url = EXAMPLE_URLS[example]
    with pytest.raises(ValidationError) as refused:
        settings(**{field: url, **others})
    error = str(refused.value)
    assert field in error and ("placeholder" in error or "password is empty" in error)
    assert url not in error and "change-me-" not in error


def test_urls_without_a_password_or_with_a_real_one_are_taken() -> None:
    DossierSettings(nats_url="nats://127.0.0.1:4222", database_url="sqlite:///dossier.db")
    DossierSettings(database_url="postgresql://cchc_dossier@/cchc_dossier?host=/run/postgresql")
    DossierSettings(nats_url="tls://dossier:4b1e9f02a7c3d865@nats:4222",
                    database_url=REAL_DATABASE)
    DossierSettings(nats_url="tls://dossier:4b1e9f02a7c3d865@nats-0:4222,tls://nats-1:4222",
                    database_url=REAL_DATABASE)

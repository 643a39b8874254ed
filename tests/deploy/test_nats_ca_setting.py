"""The NATS CA setting (cchc.runtime.nats_tls) against the deployed NATS configuration: users of
deploy/nats/accounts.conf, TLS with the private CA of deploy/tls/make_certs.py, and no
SSL_CERT_FILE anywhere, so that nothing but the setting can make a connection trust the CA."""

import logging
import subprocess
import sys

import pytest
from pydantic import ValidationError

from cchc.runtime import nats_credentials
from cchc.runtime.endpoints import connect_broker, service_broker
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.service_settings import ServiceSettingsBase
from cchc.runtime.sqldb import create_engine
from cchc.runtime.testing import PositionsSeen, append_calendar_days


@pytest.fixture(autouse=True)
def no_process_wide_ca(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


async def test_a_service_broker_trusts_the_ca_its_setting_names_and_nothing_else(
        secured_nats, nats_user_url, nats_certs, tmp_path):
    url = nats_user_url(secured_nats, "dossier")
    broker = service_broker(url, "ca-test", ca_file=str(nats_certs / "ca.crt"),
                            inbox_prefix="_INBOX_dossier")
    nc = await connect_broker(broker)
    assert nc.is_connected and nc._server_info.get("tls_required") is True
    await broker.stop()

    # Another installation's CA, named by the setting: refused, as is the system's trust alone.
    other = subprocess.run([sys.executable, "deploy/tls/make_certs.py", "--out",
                            str(tmp_path / "other")], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stderr
    for ca_file in (str(tmp_path / "other" / "ca.crt"), None):
        with pytest.raises(Exception) as refused:  # noqa: B017 - ssl's error or nats-py's
            await nats_credentials.connect(url, ca_file, allow_reconnect=False,
                                           connect_timeout=3, inbox_prefix="_INBOX_dossier")
        assert "certificate verify failed" in repr(refused.value).lower(), refused.value


async def test_a_replay_reads_in_its_reader_process_as_the_service_user_trusting_the_ca(
        secured_nats, nats_user_url, nats_certs, tmp_path, caplog):
    """The reader process logs in as its parent's user and trusts its parent's CA: before, it
    was handed the connected URL alone, without the credentials nats-py keeps apart, failed the
    server's authorization, and every replay of a deployment fell back to the slower consumer."""
    nc = await nats_credentials.connect(nats_user_url(secured_nats, "dossier"),
                                        str(nats_certs / "ca.crt"), inbox_prefix="_INBOX_dossier")
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    try:
        head = await append_calendar_days(nc, 25)
        projection = PositionsSeen("ca")
        runner = ProjectionRunner(nc, engine, projection, batch_size=5, replay_reader_from=1,
                                  replay_batch_size=5)
        with caplog.at_level(logging.INFO):
            assert await runner.catch_up() == head
        assert "with a reader process" in caplog.text
        assert "ended early" not in caplog.text and "sent nothing" not in caplog.text
        assert await projection.positions(engine) == set(range(head - 24, head + 1))
        await runner.close()
    finally:
        await engine.dispose()
        await nc.close()


@pytest.mark.parametrize("problem, expected", [
    ("missing", "cannot be read"),
    ("not a certificate", "holds no PEM certificate"),
    ("damaged", "not a usable certificate"),
])
def test_a_ca_setting_that_is_not_a_readable_certificate_is_named(
        tmp_path, monkeypatch, nats_certs, problem, expected):
    path = tmp_path / "ca.crt"
    if problem == "not a certificate":
        path.write_text("this is a password file\n")
    elif problem == "damaged":
        pem = (nats_certs / "ca.crt").read_text()
        path.write_text(pem.replace(pem.splitlines()[3], "A" * len(pem.splitlines()[3])))
    monkeypatch.setenv("CCHC_TEST_NATS_TLS_CA", str(path))

    class Settings(ServiceSettingsBase):
        model_config = {"env_prefix": "CCHC_TEST_"}
        database_url: str = "sqlite+aiosqlite://"

    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "nats_tls_ca" in str(refused.value) and expected in str(refused.value)


def test_an_empty_ca_setting_means_none(monkeypatch):
    monkeypatch.setenv("CCHC_TEST_NATS_TLS_CA", "")

    class Settings(ServiceSettingsBase):
        model_config = {"env_prefix": "CCHC_TEST_"}
        database_url: str = "sqlite+aiosqlite://"

    assert Settings().nats_tls_ca is None


async def test_an_operators_commands_trust_the_ca_of_nats_ca_or_its_variable_alone(
        secured_nats, nats_user_url, nats_certs, tmp_path, monkeypatch, capsys):
    """`cchc replicas`, `backup`, `verify`, `archive` and `migrate-subjects` on a cluster: the CA
    of --nats-ca (or CCHC_NATS_TLS_CA) on that connection, with no SSL_CERT_FILE exported in the
    operator's shell (which would make pip or curl started there trust that CA alone)."""
    import asyncio

    from cchc.cli.main import main

    ops = nats_user_url(secured_nats, "ops")
    ca = str(nats_certs / "ca.crt")
    monkeypatch.delenv("CCHC_NATS_TLS_CA", raising=False)
    listing = ["replicas", "--nats-url", ops]
    assert await asyncio.to_thread(main, [*listing, "--nats-ca", ca]) == 0
    assert await asyncio.to_thread(
        main, ["backup", "create", str(tmp_path / "b"), "--nats-url", ops, "--nats-ca", ca]) == 0
    assert (tmp_path / "b" / "manifest.json").exists()

    monkeypatch.setenv("CCHC_NATS_TLS_CA", ca)  # once for the shell
    assert await asyncio.to_thread(main, ["archive", "list", "--nats-url", ops]) == 0
    capsys.readouterr()

    monkeypatch.delenv("CCHC_NATS_TLS_CA")
    with pytest.raises(Exception) as refused:  # noqa: B017 - ssl's error or nats-py's
        await asyncio.to_thread(main, listing)
    assert "certificate verify failed" in repr(refused.value).lower(), refused.value
    with pytest.raises(SystemExit):  # argparse: a CA file that is not one, named
        main([*listing, "--nats-ca", str(tmp_path / "b" / "manifest.json")])
    assert "holds no PEM certificate" in capsys.readouterr().err

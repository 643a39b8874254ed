"""Container health probe: exit 0 when this image's service is ready, 1 otherwise.

    python /opt/cchc/bin/probe.py            # the service named by $CCHC_SERVICE
    python /opt/cchc/bin/probe.py dossier    # or a named one

The gateway is asked over HTTP (GET /health on its own port); the scheduled backup by how its
last backup went. A service has no HTTP port, so its
``health`` endpoint is asked over NATS with the service's own settings (CCHC_<SERVICE>_NATS_URL,
credentials in the URL; TLS trusting the CA of CCHC_<SERVICE>_NATS_TLS_CA, its own inbox prefix), on the subject of
this very instance (``svc.<service>.health.<instance>``, the container's host name, which the
service in the same container answers to; deploy/README.md, "Probes"): the answer is this
replica's, not any replica's of the queue group.
"""

import asyncio
import json
import os
import sys
import urllib.request
import uuid

# Each step's limit; the whole probe stays under 2 x this, inside the orchestrators' 5 s timeout.
TIMEOUT_S = 2.0


def gateway_ready() -> bool:
    port = os.environ.get("CCHC_GATEWAY_PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT_S) as answer:
            return answer.status == 200
    except OSError:  # URLError and HTTPError (503) are OSErrors
        return False


def nats_settings(service: str) -> tuple[str, str | None]:
    """The NATS URL and CA file the process of ``service`` in this container uses."""
    prefix = f"CCHC_{service.upper()}_"
    return (os.environ.get(prefix + "NATS_URL", "nats://127.0.0.1:4222"),
            os.environ.get(prefix + "NATS_TLS_CA") or None)


async def service_ready(service: str) -> bool:
    from cchc.runtime import nats_credentials

    from cchc.contracts.messages import CommandMeta, Principal, Reply, Request, Role
    from cchc.contracts.subjects import instance_subject, this_instance

    url, ca_file = nats_settings(service)
    meta = CommandMeta(
        principal=Principal(sub=f"{service}-probe", role=Role.INSPECTOR),
        correlation_id=str(uuid.uuid4()),
    )
    async def quiet(error: Exception) -> None:  # the exit code is the answer, not a traceback
        pass

    try:
        nc = await nats_credentials.connect(
            url, ca_file, connect_timeout=TIMEOUT_S, allow_reconnect=False, error_cb=quiet,
            name=f"cchc-{service}-probe",
            # The service's user may subscribe to its own inbox prefix only (accounts.conf).
            inbox_prefix=f"_INBOX_{service}",
        )
    except Exception:  # noqa: BLE001 - unreachable, refused or not authorised: not ready
        return False
    try:
        msg = await nc.request(
            instance_subject(service, "health", this_instance()),
            Request(meta=meta, body={}).model_dump_json().encode(),
            timeout=TIMEOUT_S,
        )
        return Reply.model_validate(json.loads(msg.data)).ok
    except Exception:  # noqa: BLE001 - no responders, timeout, malformed answer
        return False
    finally:
        await nc.close()


async def anchor_ready() -> bool:
    """The anchor signer has no endpoint: ready when its user reaches NATS and the ANCHORS
    stream it keeps exists (it makes it at first start)."""
    from cchc.runtime import nats_credentials

    async def quiet(error: Exception) -> None:
        pass

    try:
        nc = await nats_credentials.connect(
            *nats_settings("anchor"), connect_timeout=TIMEOUT_S, allow_reconnect=False, error_cb=quiet,
            name="cchc-anchor-probe", inbox_prefix="_INBOX_anchor")
    except Exception:  # noqa: BLE001 - unreachable, refused or not authorised: not ready
        return False
    try:
        await nc.jetstream(timeout=TIMEOUT_S).stream_info("ANCHORS")
        return True
    except Exception:  # noqa: BLE001 - no stream yet, timeout
        return False
    finally:
        await nc.close()


def backup_ready() -> bool:
    """The scheduled backup has no endpoint: its health is how its last backup went
    (``cchc.runtime.backup_job.health``): a failed one, or none whole for longer than its
    interval and an hour, is unhealthy."""
    from datetime import UTC, datetime

    from cchc.runtime.backup_job import BackupSettings, health

    settings = BackupSettings()
    healthy, why = health(settings.folder, settings.every_s, datetime.now(UTC))
    if not healthy:
        print(f"probe: backup: {why}", file=sys.stderr)  # shown by `docker inspect`
    return healthy


def main(argv: list[str]) -> int:
    service = argv[0] if argv else os.environ.get("CCHC_SERVICE", "")
    if not service:
        print("probe: no service named (argument or CCHC_SERVICE)", file=sys.stderr)
        return 2
    if service == "gateway":
        return 0 if gateway_ready() else 1
    if service == "backup":
        return 0 if backup_ready() else 1
    check = anchor_ready() if service == "anchor" else service_ready(service)
    try:  # bounded as a whole: a probe must answer before its own timeout
        ready = asyncio.run(asyncio.wait_for(check, 2 * TIMEOUT_S))
    except TimeoutError:
        ready = False
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

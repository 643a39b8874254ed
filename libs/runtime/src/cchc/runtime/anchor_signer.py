"""The anchor signer: every ``interval_s`` seconds, each event stream's head signed into
``ANCHORS``.

Its own process with its own NATS user (``anchor``: it may read the event streams and the
archive, and publish to the anchor stream only) and its own key, which no service holds. It
resumes from its newest anchor (each stream's position, digest, event count), folds in the events
appended since, and publishes a new anchor only when some stream moved: an idle log is not
anchored again and again.

Run alone: ``python -m cchc.runtime.anchor_signer`` with ``CCHC_ANCHOR_NATS_URL``,
``CCHC_ANCHOR_SIGNING_KEY`` or ``CCHC_ANCHOR_SIGNING_KEY_FILE``, ``CCHC_ANCHOR_INTERVAL_S``.
"""

import asyncio
import logging
import signal
import sys
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cchc.runtime import nats_credentials
from cchc.contracts.anchors import ANCHOR_SUBJECT, DIGEST_START, Anchor, StreamHead, fold_digest
from cchc.contracts.envelope import GENESIS_HASH
from cchc.contracts.subjects import stream_name
from cchc.runtime.anchor_log import AnchorLog, anchor_stream_config
from cchc.runtime import nats_watchdog
from cchc.runtime.endpoints import close_connection, inbox_prefix, resilient_options
from cchc.runtime.full_log import log_events
from cchc.runtime.replicas import under_replicated
from cchc.runtime.nats_tls import CaFile
from cchc.runtime.setting_secrets import ConnectionUrl
from cchc.runtime.signing_keys import SigningKey, load_signing_key
from cchc.runtime.waiting import cancel_and_wait, wait_at_most

log = logging.getLogger("cchc.anchor")

CONTEXTS = ("dossier", "planning", "scoring")
USER = "anchor"


class AnchorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCHC_ANCHOR_", hide_input_in_errors=True)

    nats_url: ConnectionUrl = "nats://127.0.0.1:4222"
    nats_tls_ca: CaFile = None  # the NATS servers' CA, trusted alone (cchc.runtime.nats_tls)
    signing_key: str | None = None
    signing_key_file: str | None = None
    interval_s: float = Field(default=300.0, gt=0, description="seconds between anchors")
    stream_replicas: int = Field(default=1, ge=1, le=5)  # as the services' streams


class AnchorSigner:
    def __init__(self, nc: NATS, key: SigningKey, contexts: tuple[str, ...] = CONTEXTS,
                 replicas: int = 1) -> None:
        self._nc = nc
        self._key = key
        self._contexts = contexts
        self._replicas = replicas
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        js = self._nc.jetstream()
        try:
            await js.stream_info(anchor_stream_config().name)
        except NotFoundError:
            await js.add_stream(anchor_stream_config(self._replicas))
            return
        await under_replicated(js, anchor_stream_config().name, self._replicas)

    async def anchor_once(self) -> Anchor | None:
        """Sign the heads now; None when no stream moved since the newest anchor."""
        async with self._lock:
            newest = await AnchorLog(self._nc).newest()
            previous = newest[1] if newest else None
            heads = [await self._head(context, previous) for context in self._contexts]
            if previous is not None and heads == previous.heads:
                return None
            unsigned = Anchor(
                signed_at=datetime.now(UTC), key_id=self._key.key_id, heads=heads,
                prev_fingerprint=previous.fingerprint() if previous else GENESIS_HASH)
            anchor = unsigned.model_copy(
                update={"signature": self._key.sign(unsigned.signing_input())})
            # Only after the anchor it chains to: a second signer running at once (it should
            # not) fails here instead of forking the anchors' chain.
            await self._nc.jetstream().publish(
                ANCHOR_SUBJECT, anchor.to_bytes(), stream=anchor_stream_config().name,
                headers={"Nats-Expected-Last-Sequence": str(newest[0] if newest else 0)})
            return anchor

    async def _head(self, context: str, previous: Anchor | None) -> StreamHead:
        stream = stream_name(context)
        before = previous.head(stream) if previous else None
        last_seq = before.last_seq if before else 0
        digest = before.digest if before else DIGEST_START
        last_hash = before.last_hash if before else GENESIS_HASH
        events = before.events if before else 0
        signed_since = before.signed_since if before else None
        try:
            head = (await self._nc.jetstream().stream_info(stream)).state.last_seq
        except NotFoundError:  # a context nothing was written to yet
            return before or StreamHead(stream=stream, last_seq=0, last_hash=GENESIS_HASH,
                                        digest=DIGEST_START, events=0)
        async for envelope in log_events(self._nc, context, after=last_seq, up_to=head):
            assert envelope.position is not None
            digest = fold_digest(digest, envelope.position, envelope.hash)
            last_seq, last_hash, events = envelope.position, envelope.hash, events + 1
            if signed_since is None and envelope.signature is not None:
                signed_since = envelope.position
        return StreamHead(stream=stream, last_seq=last_seq, last_hash=last_hash, digest=digest,
                          events=events, signed_since=signed_since)

    async def run(self, interval_s: float, stop: asyncio.Event) -> None:
        """Anchor every ``interval_s`` until ``stop``; a failed round is logged and retried."""
        while not stop.is_set():
            try:
                anchor = await self.anchor_once()
                if anchor is not None:
                    log.info("anchor %s: %s", anchor.fingerprint()[:16], ", ".join(
                        f"{h.stream} {h.last_seq}" for h in anchor.heads))
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("anchoring failed; trying again in %.0f s", interval_s)
            await wait_at_most(stop.wait(), interval_s)


async def run_until_signalled(settings: AnchorSettings) -> int:
    """Sign anchors until SIGINT or SIGTERM (exit code 0), or until the NATS watchdog gives the
    connection up (1: the supervisor starts a fresh process), as the services do
    (``cchc.runtime.service``)."""
    key = load_signing_key(USER, settings.signing_key, settings.signing_key_file)
    if key is None:
        raise SystemExit("the anchor signer needs CCHC_ANCHOR_SIGNING_KEY or "
                         "CCHC_ANCHOR_SIGNING_KEY_FILE")
    nc = await nats_credentials.connect(settings.nats_url, settings.nats_tls_ca, name="cchc-anchor",
                                        inbox_prefix=inbox_prefix(USER), **resilient_options())
    signer = AnchorSigner(nc, key, replicas=settings.stream_replicas)
    await signer.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("anchor signer %s every %.0f s", key.key_id, settings.interval_s)
    signing = asyncio.create_task(signer.run(settings.interval_s, stop))
    watchdog = asyncio.create_task(nats_watchdog.watch(nc))
    await asyncio.wait({signing, watchdog}, return_when=asyncio.FIRST_COMPLETED)
    lost = watchdog.done() and not watchdog.cancelled()
    if lost:
        log.critical("anchor signer: its NATS connection made no round trip for %.0f s; "
                     "stopping, to be started afresh", watchdog.result())
    stop.set()
    await cancel_and_wait(watchdog)
    await asyncio.gather(signing, return_exceptions=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    await close_connection(nc)
    return 1 if lost else 0


def main() -> None:
    from cchc.runtime.observability import configure_logging

    configure_logging()
    sys.exit(asyncio.run(run_until_signalled(AnchorSettings())))


if __name__ == "__main__":
    main()

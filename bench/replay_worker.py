"""The raw read a rebuild is measured against: the whole stream through nats-py's ordered
consumer, each event JSON-decoded, nothing else. In a process of its own, like a rebuild.

    python bench/replay_worker.py NATS_URL [CONTEXT]

Prints one JSON line: events read, seconds, peak resident memory (MiB).
"""

import asyncio
import json
import resource
import sys
import time

from cchc.runtime import nats_credentials

from cchc.contracts.subjects import context_subjects, stream_name


async def main(nats_url: str, context: str) -> None:
    nc = await nats_credentials.connect(nats_url)  # as the services and `cchc rebuild` connect
    js = nc.jetstream()
    last = (await js.stream_info(stream_name(context))).state.last_seq
    done = asyncio.Event()
    events = 0

    async def on_message(msg) -> None:  # type: ignore[no-untyped-def]
        nonlocal events
        json.loads(msg.data)
        events += 1
        if msg.metadata.sequence.stream >= last:
            done.set()

    started = time.perf_counter()
    subscription = await js.subscribe(context_subjects(context), cb=on_message,
                                      ordered_consumer=True, stream=stream_name(context),
                                      pending_msgs_limit=100_000)
    await done.wait()
    seconds = time.perf_counter() - started
    await subscription.unsubscribe()
    await nc.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": events, "seconds": seconds, "peak_mib": peak_mib}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "dossier"))

"""Opening a JetStream KV bucket that a process may create but not edit.

The bucket is made with ``config`` when it is missing; creating one that exists with the same
config succeeds, so replicas starting together may race here. A bucket that exists keeps its
config (the processes' NATS users may create their buckets, not edit them): when it keeps fewer
replicas than ``config`` asks, the log says so with the command that raises it
(``cchc.runtime.replicas``).
"""

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from cchc.runtime.replicas import under_replicated


async def open_bucket(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    try:
        bucket = await js.key_value(config.bucket)
    except BucketNotFoundError:
        return await js.create_key_value(config)
    await under_replicated(js, f"KV_{config.bucket}", config.replicas or 1)
    return bucket

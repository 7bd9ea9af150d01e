"""A separate app process for test_store.py: opens a client on a store, joins a room and
publishes while the server is down, then reports and waits to be killed.

Usage: python3 store_child.py URL TOKEN STORE ROOM COUNT
"""

import asyncio
import json
import os
import sys

sys.path.insert(0, os.environ["ROOMCAST_FFI_PY"])
import roomcast  # noqa: E402


async def main(url, token, store, room, count):
    roomcast.uniffi_set_event_loop(asyncio.get_running_loop())

    class Quiet(roomcast.RoomListener):
        def on_message(self, message):
            pass

        def on_presence(self, presence):
            pass

        def on_joined(self, info):
            pass

        def on_gap(self, gap):
            pass

        def on_error(self, error):
            pass

        def on_end(self):
            pass

    config = roomcast.ClientConfig(
        url=url,
        token=token,
        client_id="alice-ios",
        source="ios",
        name=None,
        min_delay_ms=100,
        max_delay_ms=500,
        max_attempts=None,
        queue_capacity=100,
        store_path=store,
    )
    client = roomcast.Client(config, None)
    await client.connect()
    r = await client.join(room, Quiet())
    print("joined", flush=True)
    # The parent kills the server now; publishes queue offline.
    sys.stdin.readline()
    tasks = [
        asyncio.ensure_future(r.publish("chat.message", json.dumps({"n": n})))
        for n in range(count)
    ]
    await asyncio.sleep(0)
    print("published", flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)  # never returns: killed first


if __name__ == "__main__":
    url, token, store, room, count = sys.argv[1:]
    asyncio.run(main(url, token, store, room, int(count)))

"""Compares two asyncio etcd clients on the store's write, the conditional create txn
(compare create_revision == 0, then put): the store's own (grpcio's grpc.aio with messages
generated from store/etcdpb/etcd.proto) and aetcd 1.0.0, in turns on one etcd, beside the
SQLite store's create (the floor of what a store call costs the API server's event loop).
Prints creates/s, this process's CPU per create and the event loop thread's share of it, with
1, 8 and 64 concurrent writers; asserts nothing.

Run: .venv/bin/python bench/etcd_clients.py   (aetcd is measured when installed:
`.venv/bin/pip install aetcd==1.0.0`; it is not a dependency of kubelite)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.store.etcd import EtcdStore  # noqa: E402
from kubelite.store.sqlite import SqliteStore  # noqa: E402
from tests.helpers.etcd import start_etcd  # noqa: E402

VALUE = b"x" * 1024
Create = Callable[[bytes], Awaitable[None]]


async def rate(create: Create, clients: int, n: int) -> tuple[float, float, float]:
    """(creates per second, CPU microseconds per create of this process, of its event loop)."""
    prefix = f"/bench/{uuid.uuid4().hex}/".encode()

    async def writer(w: int) -> None:
        for i in range(w, n, clients):
            await create(prefix + str(i).encode())

    began, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
    await asyncio.gather(*(writer(w) for w in range(clients)))
    return (n / (time.perf_counter() - began), (time.process_time() - cpu) / n * 1e6,
            (time.thread_time() - loop) / n * 1e6)


async def store_client(url: str) -> tuple[Create, Callable[[], Awaitable[None]]]:
    store = EtcdStore([url], prefix="", compact_interval=0)  # keys as aetcd writes them
    await store.start()

    async def create(key: bytes) -> None:
        await store.create(key.decode(), VALUE)

    return create, store.close


async def sync_channel_client(url: str) -> tuple[Create, Callable[[], Awaitable[None]]]:
    """The same txn on grpc's synchronous channel, each call's future completed into the loop
    (grpc's threads do the waiting): the alternative to grpc.aio, measured and not taken."""
    import grpc

    from kubelite.store.etcd import TXN
    from kubelite.store.etcdpb import etcd_pb2 as pb

    channel = grpc.insecure_channel(url.split("://", 1)[1])
    txn = channel.unary_unary(TXN, request_serializer=pb.TxnRequest.SerializeToString,
                              response_deserializer=pb.TxnResponse.FromString)
    loop = asyncio.get_running_loop()

    async def create(key: bytes) -> None:
        done: asyncio.Future[None] = loop.create_future()
        request = pb.TxnRequest(
            compare=[pb.Compare(result=pb.Compare.EQUAL, target=pb.Compare.CREATE, key=key, create_revision=0)],
            success=[pb.RequestOp(request_put=pb.PutRequest(key=key, value=VALUE))])

        def finished(call: grpc.Future) -> None:
            error = call.exception()
            if error is None:
                loop.call_soon_threadsafe(done.set_result, None)
            else:
                loop.call_soon_threadsafe(done.set_exception, error)

        txn.future(request, timeout=10).add_done_callback(finished)
        await done

    async def close() -> None:
        channel.close()

    return create, close


async def sqlite_client(tmp: str) -> tuple[Create, Callable[[], Awaitable[None]]]:
    store = SqliteStore(str(Path(tmp) / "bench.db"))
    await store.start()

    async def create(key: bytes) -> None:
        await store.create(key.decode(), VALUE)

    return create, store.close


async def aetcd_client(url: str) -> tuple[Create, Callable[[], Awaitable[None]]] | None:
    try:
        import aetcd  # type: ignore[import-not-found]
    except ImportError:
        return None
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    client = aetcd.Client(host=host, port=int(port))
    await client.connect()
    txns = client.transactions

    async def create(key: bytes) -> None:
        succeeded, _ = await client.transaction(compare=[txns.create(key) == 0], success=[txns.put(key, VALUE)], failure=[])
        assert succeeded

    return create, client.close


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-etcd-clients-") as tmp:
        url, stop = start_etcd(tmp)
        try:
            clients = {"grpcio (store)": await store_client(url), "aetcd 1.0.0": await aetcd_client(url),
                       "grpcio sync": await sync_channel_client(url), "SQLite store": await sqlite_client(tmp)}
            if clients["aetcd 1.0.0"] is None:
                print("aetcd is not installed: measuring the store's client only")
            for _ in range(2):  # two rounds, in turns
                for writers in (1, 8, 64):
                    for name, client in clients.items():
                        if client is None:
                            continue
                        per_s, cpu, loop = await rate(client[0], writers, 2000)
                        print(f"{name:<15} {writers:>2} writers: {per_s:7,.0f} creates/s, {cpu:5.0f} µs CPU each, "
                              f"{loop:4.0f} µs of it on the event loop")
            for client in clients.values():
                if client is not None:
                    await client[1]()
        finally:
            stop()


if __name__ == "__main__":
    asyncio.run(main())

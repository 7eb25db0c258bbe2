"""A fast merchant endpoint for the callback bench: answers every POST 200 and stamps its arrival.

A bare asyncio HTTP/1.1 server (keep-alive, Content-Length bodies), run as its own process pinned
to the client CPU by bench/callbacks.py: `python bench/callback_receiver.py --port P`.

- any `POST` is answered `200` with an empty body, and recorded as (wall-clock arrival time in
  seconds since the epoch, the request target);
- `GET /_arrivals` answers the records so far as JSON: `[[time, target], ...]`;
- `POST /_reset` forgets them.

The wall clock is the one the platform clock runs on (offset 0, scale 1), so an arrival time can
be compared with a callback's due time read from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

arrivals: list[tuple[float, str]] = []
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def answer(status: bytes, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status.decode()}\r\nContent-Type: application/json\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            arrived = time.time()
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            if length:
                await reader.readexactly(length)
            if method == "GET" and target == "/_arrivals":
                writer.write(answer(b"200 OK", json.dumps(arrivals).encode()))
            elif target == "/_reset":
                arrivals.clear()
                writer.write(OK)
            else:
                arrivals.append((arrived, target))
                writer.write(OK)
            await writer.drain()
            if close:
                return
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    server = await asyncio.start_server(handle, host, port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"callback receiver on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    a = parser.parse_args()
    asyncio.run(serve(a.host, a.port))


if __name__ == "__main__":
    main()

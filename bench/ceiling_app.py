"""The ceiling: a bare ASGI app on the server stack `kco-sandbox serve` uses.

It reads the whole request body and answers every request with the same small JSON body, so a
run against it measures what uvicorn (and the loopback, and wrk) cost on their own. The uvicorn
settings are those of `kco_sandbox.cli.serve` (no server or date header, no access log, no
lifespan, the same event loop: uvloop when installed), with uvicorn's own httptools protocol,
the reference the targets are ratios to. `--http h11` runs uvicorn's h11 protocol instead.

    python bench/ceiling_app.py --port 8001
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.types import Receive, Scope, Send

BODY = b'{"status":"ok"}'
HEADERS = [
    (b"Content-Type", b"application/json"),
    (b"Content-Length", str(len(BODY)).encode()),
]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    more_body = True
    while more_body:
        message = await receive()
        more_body = bool(message.get("more_body", False))
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    args = parser.parse_args()
    print(f"ceiling: http={args.http}", flush=True)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        http=args.http,
        server_header=False,
        date_header=False,
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        lifespan="off",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()

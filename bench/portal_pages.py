"""How long the portal's pages take with a lot of data: the orders list with 1,000 orders (first
and last page) and an order with 1,000 timeline entries (first and last page of its timeline).

In-process (Starlette's test client, no sockets), on a fresh SQLite file, signed in through the
portal's own form; each page is asked for `ROUNDS` times and the median and worst are printed in
milliseconds:

    .venv/bin/python bench/portal_pages.py [--orders 1000] [--entries 1000]

Pages are paged, so their cost must not grow with the data: the last page costs about what the
first does. The numbers of a run go into bench/README.md ("Portal pages").
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from bench.order import order_body

ROUNDS = 30
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
MERCHANT = Merchant("bench", "bench-secret", "Bench shop")


def timed(client: TestClient, path: str) -> tuple[float, float]:
    """Median and worst milliseconds of `ROUNDS` GETs of `path` (each must answer 200)."""
    took = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(took), max(took)


def last_page(client: TestClient, path: str) -> tuple[str, int]:
    """The path of the last page reached by following `rel="next"` links from `path`, and how
    many pages there were."""
    pages = 1
    while True:
        found = NEXT.search(client.get(path).text)
        if found is None:
            return path, pages
        path = html.unescape(found.group(1))
        pages += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kco-portal-bench-"))
    store = Store.for_url(f"sqlite:///{folder / 'kco.db'}", migrate=True)
    clock = SystemClock()
    store.merchants.put(MERCHANT, clock.now())
    settings = Settings(merchants=(MERCHANT,), allowed_hosts=("testserver",))
    app = create_app(settings, store, clock, [MERCHANT])
    with TestClient(app) as client:
        api = (MERCHANT.merchant_id, MERCHANT.api_key)
        body = order_body()
        filled = time.perf_counter()
        order_ids = []
        for _ in range(args.orders):
            created = client.post("/checkout/v3/orders", json=body, auth=api)
            assert created.status_code == 201, created.text
            order_ids.append(created.json()["order_id"])
        busy = order_ids[0]
        at = clock.now()
        for n in range(args.entries):
            detail = {"method": "GET", "path": f"/checkout/v3/orders/{busy}", "status": 200}
            store.events.add(busy, at + timedelta(milliseconds=n), "api.call", detail)
        print(
            f"filled {args.orders} orders and {args.entries} entries in "
            f"{time.perf_counter() - filled:.1f} s"
        )
        signed = client.post(
            "/portal/sign-in",
            data={"username": MERCHANT.merchant_id, "password": MERCHANT.api_key},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        last_orders, orders_pages = last_page(client, "/portal/orders")
        busy_page = f"/portal/orders/{busy}"
        last_entries, entry_pages = last_page(client, busy_page)
        rows = [
            ("orders list, first page", "/portal/orders"),
            (f"orders list, last page (page {orders_pages})", last_orders),
            (f"order, {args.entries} timeline entries, first page", busy_page),
            (f"order, its last timeline page (page {entry_pages})", last_entries),
        ]
        print(f"{'page':<45} {'median ms':>10} {'worst ms':>10}")
        for name, path in rows:
            median, worst = timed(client, path)
            print(f"{name:<45} {median:>10.1f} {worst:>10.1f}")
    store.close()


if __name__ == "__main__":
    main()

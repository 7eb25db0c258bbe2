"""A short, seeded fuzz run of the vendor's OpenAPI files against a live server, on each engine.

Every operation of Checkout v3 and Order Management gets generated requests, valid and invalid,
with real order ids mixed in: no answer may be a 5xx, every answer carries
`Klarna-Correlation-Id`, and every 4xx with a body is the vendor's error JSON (`checks.py`).
`scripts/fuzz` is the long run of the same driver (docs/testing.md, "Fuzzing").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.recordings import CHECKOUT_OPENAPI, OM_OPENAPI, require_openapi
from tests.factories import MERCHANT, OTHER_MERCHANT
from tests.fuzz.report import render
from tests.fuzz.run import fuzz
from tests.fuzz.specs import operations
from tests.live import LiveServer

require_openapi(CHECKOUT_OPENAPI)
require_openapi(OM_OPENAPI)

EXAMPLES = 6  # per operation and generation mode: 264 fuzzed requests a run
SEED = 20261201


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """`kco-sandbox serve` on a fresh SQLite file, or on the session's PostgreSQL database."""
    database = None
    if request.param == "postgresql":
        database = request.getfixturevalue("migrated_postgres_url")
    live = LiveServer(tmp_path, [MERCHANT, OTHER_MERCHANT], database_url=database)
    live.start()
    yield live
    live.stop()


def test_no_generated_request_breaks_the_server_or_the_error_shape(server: LiveServer) -> None:
    report = fuzz(server.url, MERCHANT, OTHER_MERCHANT, EXAMPLES, SEED)
    text = render(report)

    assert report.server_errors == 0, text
    assert report.broken == 0, text
    # Every operation of both files was called as often, with real ids where it takes any ...
    assert list(report.stats) == [op.label for op in operations()]
    for label, stats in report.stats.items():
        assert stats.requests == 2 * EXAMPLES, label
        assert stats.real_ids > 0 or "{" not in label, label
    # ... which reached past "not found": the operations' own rules answered.
    statuses = {code for stats in report.stats.values() for code in stats.statuses}
    assert {200, 201, 204, 400, 401, 403, 404} <= statuses, text

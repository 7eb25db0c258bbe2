"""Fixtures of the store tests that go through the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.conftest import BASE_URL
from tests.factories import MERCHANT


@pytest.fixture
def app_client(
    store: Store, clock: FrozenClock, settings: Settings, merchant_http: MerchantHttp
) -> Iterator[TestClient]:
    """The app over `store`, answering 500 (not raising) when the database refuses a write."""
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    app = create_app(settings, store, clock, list(settings.merchants), caller=merchant_http)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        yield client
